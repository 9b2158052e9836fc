import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
// @ts-expect-error: a plain .mjs setup script without type declarations
import { foldEngineWarnings } from "../../scripts/npm-output.mjs";

// The exact stderr of `npm ci` on a clean clone with Node.js 20 (npm 11.19): 64 EBADENGINE
// blocks (320 lines) that a first-time `npm run demo` printed before anything of the demo.
const STDERR = readFileSync(join(import.meta.dir, "fixtures/npm-ci-node20.stderr.txt"), "utf8");

test("npm ci's EBADENGINE blocks become one line; every other warning is kept, in order", () => {
  const { kept, summary } = foldEngineWarnings(STDERR);
  expect(kept.split("\n").filter((l: string) => l !== "")).toEqual([
    "npm warn install-scripts 2 packages have install scripts not yet covered by allowScripts:",
    "npm warn install-scripts   @serialport/bindings-cpp@13.0.0 (install: node-gyp-build)",
    "npm warn install-scripts   bun@1.4.5 (postinstall: node install.js)",
    "npm warn install-scripts",
    "npm warn install-scripts Run `npm install-scripts ls` to review, or `npm install-scripts approve <pkg>` to allow.",
  ]);
  expect(summary).toBe(
    "npm: 64 packages (commander, node-opcua, node-opcua-*) ask for Node.js >=22.12.0 or >=22.13.0, this is v20.20.2 (EBADENGINE): harmless, Bun runs them",
  );
});

test("no EBADENGINE warning: the text unchanged, no summary", () => {
  const text = "npm warn deprecated foo@1.0.0: use bar\nnpm error code EUSAGE\n";
  expect(foldEngineWarnings(text)).toEqual({ kept: text, summary: undefined });
});
