import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PROGRAMS, resolveProgram } from "../../src/bin.ts";
import { versionLine } from "../../src/build-info.ts";
import { applyEnvFile, parseEnvFile } from "../../src/env-file.ts";
import { tempDir } from "../support/tmp.ts";

const dir = tempDir("ne-bin-");
afterAll(() => dir.cleanup());

describe("multi-call dispatch", () => {
  test("by the first argument, else by the name it was started as", () => {
    expect(resolveProgram("/usr/bin/ne-intf", ["--conn-id=a"])).toEqual({
      program: "ne-intf",
      args: ["--conn-id=a"],
    });
    // The supervisor starts apps as [execPath, "ne-intf", …] with execPath = the binary.
    expect(resolveProgram("/usr/bin/nodi-edge", ["ne-intf", "--conn-id=a"])).toEqual({
      program: "ne-intf",
      args: ["--conn-id=a"],
    });
    expect(resolveProgram("/usr/bin/nodi-edge", ["import", "x"])).toEqual({
      program: "nodi-edge",
      args: ["import", "x"],
    });
    expect(resolveProgram("bun", ["ne-supervisor"])).toEqual({
      program: "ne-supervisor",
      args: [],
    });
    expect(resolveProgram("bun", ["toString"])).toBeUndefined();
    expect(resolveProgram("/x/other", [])).toBeUndefined();
    expect(Object.keys(PROGRAMS).sort()).toEqual([
      "ne-intf",
      "ne-supervisor",
      "ne-web",
      "nodi-edge",
    ]);
  });

  test("--version line names program, version, commit, target", () => {
    expect(versionLine("ne-intf")).toMatch(
      /^ne-intf \d+\.\d+\.\d+\S* \(commit \S+, bun-linux-\w+.*\)$/,
    );
  });
});

describe("environment file", () => {
  test("systemd EnvironmentFile syntax", () => {
    expect(
      parseEnvFile(
        '# c\n; c\n\nNE_DB=/var/lib/x.db\nNE_A = "quoted \\"v\\""\nNE_B=\'single\'\nnot an assignment\nexport NE_C=3\nNE_DB=/later.db\n',
      ),
    ).toEqual({ NE_DB: "/later.db", NE_A: 'quoted "v"', NE_B: "single", NE_C: "3" });
  });

  test("fills only unset variables, then the packaged defaults; no file, no change", () => {
    const file = join(dir.path, "ne.env");
    writeFileSync(file, "NE_REDIS_URL=redis://10.0.0.1:6379\nNE_LOG_LEVEL=debug\n");
    const env: Record<string, string | undefined> = { NE_LOG_LEVEL: "warn" };
    expect(applyEnvFile(file, env).sort()).toEqual(["NE_DB", "NE_REDIS_URL"]);
    expect(env).toEqual({
      NE_LOG_LEVEL: "warn",
      NE_REDIS_URL: "redis://10.0.0.1:6379",
      NE_DB: "/var/lib/nodi-edge/nodi-edge.db",
    });
    const none: Record<string, string | undefined> = {};
    expect(applyEnvFile(join(dir.path, "missing.env"), none)).toEqual([]);
    expect(none).toEqual({});
  });
});
