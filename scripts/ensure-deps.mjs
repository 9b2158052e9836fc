#!/usr/bin/env node
// Installs what the demo and the tests need, on a fresh clone with only Node.js and npm:
// the npm packages (pinned by package-lock.json; Bun comes from npm) and, when missing,
// Debian packages: redis-server (TagBus), socat (serial pty pairs), python3-pymodbus
// (an independent Modbus peer), chromium (the web UI's browser test), dpkg-dev and procps
// (the packaging tests). Idempotent and quick when everything is there.
// Usage: node scripts/ensure-deps.mjs [--no-apt]
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { withServicesHeld } from "./policy-rc.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const log = (msg) => process.stderr.write(`[setup] ${msg}\n`);

function npmInstalled() {
  const marker = join(root, "node_modules", ".package-lock.json");
  if (!existsSync(marker) || !existsSync(join(root, "node_modules", ".bin", "bun"))) return false;
  return statSync(marker).mtimeMs >= statSync(join(root, "package-lock.json")).mtimeMs;
}

if (!npmInstalled()) {
  log("installing npm packages (npm ci)…");
  execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
}

const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
const hasPymodbus = () =>
  existsSync("/usr/bin/python3") &&
  spawnSync("/usr/bin/python3", ["-c", "import pymodbus"], { stdio: "ignore" }).status === 0;

const wanted = [];
if (!has("redis-server")) wanted.push("redis-server");
if (!has("socat")) wanted.push("socat");
if (!hasPymodbus()) wanted.push("python3-pymodbus");
// The web UI's end-to-end test drives Debian's chromium with playwright-core (which cannot
// download browsers here); test/web/browser.test.ts uses /usr/bin/chromium.
if (!existsSync("/usr/bin/chromium")) wanted.push("chromium");
// The packaging tests build .deb files (packaging/build-deb.ts runs dpkg-shlibdeps and
// dpkg-gencontrol, from dpkg-dev) and test/packaging/systemd-container.sh uses ps (procps,
// absent from minimal images).
if (!has("dpkg-shlibdeps") || !has("dpkg-gencontrol")) wanted.push("dpkg-dev");
if (!has("ps")) wanted.push("procps");

if (wanted.length > 0 && !process.argv.includes("--no-apt")) {
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const sudo = isRoot ? [] : has("sudo") ? ["sudo"] : null;
  if (sudo === null || !has("apt-get")) {
    log(
      `missing: ${wanted.join(", ")}. Install them with your package manager (Debian: apt-get install ${wanted.join(" ")}).`,
    );
    if (wanted.includes("redis-server")) process.exit(1);
  } else {
    log(`installing ${wanted.join(", ")} with apt-get…`);
    const run = (args) => {
      const [cmd, ...rest] = [...sudo, ...args];
      return spawnSync(cmd, rest, {
        stdio: "inherit",
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      }).status;
    };
    // Debian starts the packaged redis-server service on install where systemd runs; the tests
    // start their own servers on free ports and do not use it. As root, a temporary
    // /usr/sbin/policy-rc.d (exit 101) keeps the maintainer scripts from starting anything.
    const installed = withServicesHeld(() => {
      if (run(["apt-get", "install", "-y", "-q", "--no-install-recommends", ...wanted]) === 0) {
        return true;
      }
      run(["apt-get", "update", "-q"]);
      return run(["apt-get", "install", "-y", "-q", "--no-install-recommends", ...wanted]) === 0;
    });
    if (!installed && !has("redis-server")) {
      log("could not install redis-server");
      process.exit(1);
    }
  }
}
