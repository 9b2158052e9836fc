import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

// Every package that src/, test/, scripts/, bench/, build/ and packaging/ import is declared in
// package.json: `npm ci` on a clean clone installs exactly the lock file, and a package that is
// only there as another one's dependency (node-opcua's node-opcua-client, …) can move or go
// with that package's next release. Imports are read by Bun's own parser (Bun.Transpiler).

const ROOT = join(import.meta.dir, "../..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  bin: Record<string, string>;
  allowScripts?: Record<string, boolean>;
};
const declared = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)]);

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
function packageOf(spec: string): string {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

function isBuiltin(spec: string): boolean {
  return spec.startsWith("node:") || spec === "bun" || spec.startsWith("bun:");
}

test("every imported package is declared in package.json (dependencies or devDependencies)", () => {
  const undeclared: string[] = [];
  for (const dir of ["src", "test", "scripts", "bench", "build", "packaging"]) {
    for (const file of new Bun.Glob("**/*.{ts,mjs,js}").scanSync({ cwd: join(ROOT, dir) })) {
      if (file.includes("node_modules/") || file.includes("/ui/")) continue;
      const path = join(dir, file);
      const loader = file.endsWith(".ts") ? "ts" : "js";
      const imports = new Bun.Transpiler({ loader }).scanImports(
        readFileSync(join(ROOT, path), "utf8").replace(/^#!.*/, ""),
      );
      for (const { path: spec } of imports) {
        if (spec.startsWith(".") || spec.startsWith("/") || isBuiltin(spec)) continue;
        if (!declared.has(packageOf(spec))) undeclared.push(`${path}: ${spec}`);
      }
    }
  }
  expect(undeclared).toEqual([]);
});

// npm 11.16+ lists the packages whose install scripts package.json's `allowScripts` does not
// approve, and npm 12 skips those scripts: bun's postinstall puts the real `bun` binary in
// node_modules/.bin, so `npm test` on a clean clone needs it approved.
test("every locked package with an install script is approved in allowScripts", () => {
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, { hasInstallScript?: boolean }>;
  };
  const allow = pkg.allowScripts ?? {};
  const withScripts = Object.entries(lock.packages)
    .filter(([, p]) => p.hasInstallScript)
    .map(([path]) => path.replace(/^.*node_modules\//, ""));
  expect(withScripts).toContain("bun");
  expect(withScripts.filter((name) => allow[name] !== true)).toEqual([]);
});

// npm ci makes package.json's `bin` files executable in the work tree; committed as 100644,
// a clean clone was dirty after its first `npm run demo` (git pull refused: "local changes",
// and build/build.ts stamped every executable built from it `+dirty`).
test("package.json's bin files are committed executable (mode 100755), so npm ci leaves the tree clean", () => {
  const bins = Object.values(pkg.bin);
  expect(bins.length).toBeGreaterThan(0);
  const ls = Bun.spawnSync(["git", "ls-files", "-s", "--", ...bins], { cwd: ROOT });
  expect(ls.exitCode).toBe(0);
  const modes = Object.fromEntries(
    ls.stdout
      .toString()
      .trim()
      .split("\n")
      .map((l) => [l.split("\t")[1], l.split(" ")[0]]),
  );
  expect(modes).toEqual(Object.fromEntries(bins.map((b) => [b, "100755"])));
});
