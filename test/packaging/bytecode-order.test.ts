/**
 * The executable is built with the recorded bytecode layout profiles (`--bytecode-order`,
 * build/bytecode-order/, docs/performance.md "OPC UA app memory, third pass"): the OPC UA app
 * keeps fewer of the executable's pages resident when the bytecode it runs sits together.
 */
import { expect, test } from "bun:test";
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BYTECODE_ORDER_DIR, buildConfig, bytecodeOrderFiles } from "../../build/build.ts";
import { pickProfiles } from "../../build/record-bytecode-order.ts";
import { tempDir } from "../support/tmp.ts";

test("the build passes every recorded profile, restarted OPC UA app first, to --bytecode-order", () => {
  const files = bytecodeOrderFiles();
  expect(files.map((f) => f.replace(`${BYTECODE_ORDER_DIR}/`, ""))).toEqual([
    "10-opcua-restarted.order",
    "20-opcua-first-start.order",
  ]);
  for (const f of files) {
    const text = readFileSync(f, "utf8");
    expect(text.startsWith("v2\n")).toBe(true);
    // thousands of function hashes (a profile of the whole app, not of `--version`)
    expect(text.split("\n").length).toBeGreaterThan(10_000);
  }
  const config = buildConfig("linux-x64", "/tmp/x/nodi-edge");
  expect(config.compile).toMatchObject({ bytecodeOrder: files });
  expect(config.bytecode).toBe(true);
});

test("a build without profiles passes no --bytecode-order", () => {
  const config = buildConfig("linux-x64", "/tmp/x/nodi-edge", { bytecodeOrder: [] });
  expect("bytecodeOrder" in config.compile).toBe(false);
  const empty = tempDir("ne-order-");
  try {
    expect(bytecodeOrderFiles(join(empty.path, "none"))).toEqual([]);
  } finally {
    empty.cleanup();
  }
});

test("the recorder tells the first start's profile from the restarted app's by age", () => {
  const d = tempDir("ne-order-");
  try {
    const dir = join(d.path, "p");
    mkdirSync(dir);
    writeFileSync(join(dir, "900.order"), "v2\nF b\n");
    writeFileSync(join(dir, "100.order"), "v2\nF a\n");
    utimesSync(join(dir, "900.order"), 1000, 1000); // older: the first start
    utimesSync(join(dir, "100.order"), 2000, 2000);
    expect(pickProfiles(dir)).toEqual({
      firstStart: join(dir, "900.order"),
      restarted: join(dir, "100.order"),
    });
    writeFileSync(join(dir, "101.order"), "v2\n");
    expect(() => pickProfiles(dir)).toThrow(/expected 2 profiles/);
  } finally {
    d.cleanup();
  }
});
