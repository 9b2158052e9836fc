/**
 * The bundle-time rewrites of `build/lazy-imports.ts` (docs/performance.md "OPC UA app
 * memory, third pass"): with them, an OPC UA app does not evaluate the X.509 creation stack
 * (but `reflect-metadata`, which the driver imports itself so that any `bun build --compile`
 * of it works, test/drivers/opcua/cli.test.ts),
 * sshpk, chokidar, yauzl or the mDNS library until it uses them, and still creates its
 * certificate and connects. The app runs here from source with the same plugin registered as
 * a runtime plugin (`Bun.plugin`), in a fresh Bun; the compiled executable gets it from
 * `build/compile.ts` (test/packaging/compiled.test.ts runs the compiled OPC UA app).
 */
// @peculiar/x509 (its KeyUsageFlags, compared below) needs the polyfill before it loads
import "reflect-metadata";
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { KeyUsageFlags } from "@peculiar/x509";
import {
  CRYPTO_FILE,
  KEY_USAGE_FLAGS,
  LAZY_REWRITES,
  rewriteForBundle,
} from "../../build/lazy-imports.ts";
import { startOpcuaSim } from "../../src/sim/opcua/server.ts";
import { opcuaConnection } from "../drivers/opcua/fixture.ts";
import { runFreshBun } from "../support/fresh-bun.ts";
import { freePort } from "../support/ports.ts";
import { tempDir } from "../support/tmp.ts";

const ROOT = join(import.meta.dir, "../..");
const NM = join(ROOT, "node_modules");

/** Packages the OPC UA app must not evaluate before it needs them. */
const LAZY = [
  "@peculiar/x509",
  "@peculiar/webcrypto",
  "tsyringe",
  "sshpk",
  "chokidar",
  "yauzl",
  "sterfive-bonjour-service",
];

/** Runs `body` (after the app's and the driver's imports) in a fresh Bun; returns its stdout. */
async function probe(plugin: boolean, body: string): Promise<string> {
  const script = `
    ${plugin ? `const { lazyImportsPlugin } = await import(${JSON.stringify(join(ROOT, "build/lazy-imports.ts"))}); Bun.plugin(lazyImportsPlugin());` : ""}
    await import(${JSON.stringify(join(ROOT, "src/intf/main.ts"))});
    const { loadDriverFactory } = await import(${JSON.stringify(join(ROOT, "src/drivers/registry.ts"))});
    const factory = await loadDriverFactory("opcua");
    const loaded = (pkgs) => pkgs.filter((p) => Object.keys(require.cache).some((k) => k.includes("/node_modules/" + p + "/")));
    ${body}
  `;
  return runFreshBun(script, ROOT);
}

test("every rewrite still finds its text in the installed node-opcua", () => {
  for (const r of LAZY_REWRITES) {
    const text = readFileSync(join(NM, r.file), "utf8");
    const out = rewriteForBundle(join(NM, r.file), text);
    expect(out).toContain(r.to);
    expect(out?.split(r.from).length).toBe(r.to.includes(r.from) ? 2 : 1);
  }
  const crypto = rewriteForBundle(
    join(NM, CRYPTO_FILE),
    readFileSync(join(NM, CRYPTO_FILE), "utf8"),
  );
  expect(crypto).not.toContain('@peculiar/x509";');
  expect(rewriteForBundle(join(NM, "node-opcua-client/dist/index.js"), "x")).toBeUndefined();
});

test("a changed node-opcua file fails the build instead of loading everything again", () => {
  const r = LAZY_REWRITES[0]!;
  expect(() => rewriteForBundle(join(NM, r.file), "import sshpk from 'sshpk';")).toThrow(/changed/);
  expect(() => rewriteForBundle(join(NM, CRYPTO_FILE), "export function getCrypto() {}")).toThrow(
    /changed/,
  );
});

test("the facade's key usage bits are @peculiar/x509's", () => {
  for (const [name, bit] of Object.entries(KEY_USAGE_FLAGS))
    expect(KeyUsageFlags[name as keyof typeof KeyUsageFlags]).toBe(bit);
  expect(Object.keys(KEY_USAGE_FLAGS).length).toBe(
    Object.values(KeyUsageFlags).filter((v) => typeof v === "number").length,
  );
});

test("with the rewrites the OPC UA app evaluates none of them at start; without, all", async () => {
  const body = `await Bun.write(Bun.stdout, JSON.stringify(loaded(${JSON.stringify(LAZY)})));`;
  expect(JSON.parse(await probe(true, body))).toEqual([]);
  expect(JSON.parse(await probe(false, body)).sort()).toEqual([...LAZY].sort());
}, 60_000);

test("with the rewrites a first connect creates the client's certificate and opens a session", async () => {
  const dir = tempDir("ne-lazy-");
  const sim = await startOpcuaSim({ port: await freePort(), pkiDir: join(dir.path, "sim-pki") });
  try {
    const body = `
      const before = loaded(["@peculiar/x509", "tsyringe"]);
      const { silentLogger } = await import(${JSON.stringify(join(ROOT, "src/core/log.ts"))});
      const conn = ${JSON.stringify(opcuaConnection({ conn_id: "lazy", endpoint_url: sim.endpointUrl, connect_timeout_ms: 20_000 }))};
      const d = factory(conn, { log: silentLogger, dataDir: ${JSON.stringify(dir.path)} });
      d.configure([], []);
      await d.connect();
      await d.close();
      const fs = await import("node:fs");
      const cert = fs.existsSync(${JSON.stringify(join(dir.path, "pki/lazy/own/certs/client_certificate.pem"))});
      await Bun.write(Bun.stdout, JSON.stringify({ before, after: loaded(["@peculiar/x509", "tsyringe"]), cert }));
      process.exit(0);
    `;
    const r = JSON.parse(await probe(true, body));
    expect(r).toEqual({ before: [], after: ["@peculiar/x509", "tsyringe"], cert: true });
  } finally {
    await sim.stop();
    dir.cleanup();
  }
}, 60_000);
