import { afterAll, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/tmp.ts";

// A git worktree whose node_modules is a symlink to another checkout's: after a rebase that
// touched package-lock.json, scripts/ensure-deps.mjs ran npm ci there, and npm emptied the
// folder the link points to (every other worktree's packages) before installing its own.

const ROOT = join(import.meta.dir, "../..");
const dir = tempDir("ne-ensure-deps-");
afterAll(() => dir.cleanup());

test("node_modules a symlink and the lock newer: no npm ci, the shared folder untouched, said why", () => {
  const checkout = join(dir.path, "worktree");
  const shared = join(dir.path, "main-node_modules");
  mkdirSync(join(checkout, "scripts"), { recursive: true });
  for (const f of ["ensure-deps.mjs", "npm-output.mjs", "policy-rc.mjs"]) {
    copyFileSync(join(ROOT, "scripts", f), join(checkout, "scripts", f));
  }
  // a project without dependencies: npm ci, if run, needs nothing from a registry
  writeFileSync(join(checkout, "package.json"), '{"name":"t","version":"1.0.0"}\n');
  writeFileSync(
    join(checkout, "package-lock.json"),
    '{"name":"t","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"t","version":"1.0.0"}}}\n',
  );
  mkdirSync(join(shared, "some-package"), { recursive: true });
  writeFileSync(join(shared, "some-package", "index.js"), "module.exports = 1;\n");
  symlinkSync(shared, join(checkout, "node_modules"));

  const r = Bun.spawnSync(["node", join(checkout, "scripts", "ensure-deps.mjs"), "--no-apt"], {
    cwd: checkout,
    stderr: "pipe",
    stdout: "pipe",
  });
  const err = r.stderr.toString();
  expect(err).toContain(
    `[setup] node_modules is a symlink to ${shared} and package-lock.json is newer than its install: not running npm ci here`,
  );
  expect(err).not.toContain("installing npm packages");
  expect(existsSync(join(shared, "some-package", "index.js"))).toBe(true);
}, 60_000);
