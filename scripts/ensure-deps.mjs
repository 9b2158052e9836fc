#!/usr/bin/env node
// Installs what the demo and the tests need, on a fresh clone with only Node.js and npm:
// the npm packages (pinned by package-lock.json; Bun comes from npm) and, when missing,
// Debian packages: redis-server (TagBus), socat (serial pty pairs), python3-pymodbus
// (an independent Modbus peer), chromium (the web UI's browser test), openssl (TLS test
// certificates), dpkg-dev and procps
// (the packaging tests). Idempotent and quick when everything is there.
// Usage: node scripts/ensure-deps.mjs [--no-apt]
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, realpathSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { foldEngineWarnings } from "./npm-output.mjs";
import { withServicesHeld } from "./policy-rc.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const log = (msg) => process.stderr.write(`[setup] ${msg}\n`);

function npmInstalled() {
  const marker = join(root, "node_modules", ".package-lock.json");
  if (!existsSync(marker) || !existsSync(join(root, "node_modules", ".bin", "bun"))) return false;
  return statSync(marker).mtimeMs >= statSync(join(root, "package-lock.json")).mtimeMs;
}

/** The folder `node_modules` links to, when it is a symlink (a shared install), else undefined. */
function sharedNodeModules() {
  const nm = join(root, "node_modules");
  try {
    return lstatSync(nm).isSymbolicLink() ? realpathSync(nm) : undefined;
  } catch {
    return undefined; // missing or dangling: npm ci makes a folder of its own
  }
}

const shared = npmInstalled() ? undefined : sharedNodeModules();
if (shared !== undefined) {
  // npm ci empties node_modules before it installs, through a symlink too: the folder it
  // points to (another checkout's, shared by git worktrees) would be emptied under everyone
  // using it. Leave it to that checkout.
  log(
    `node_modules is a symlink to ${shared} and package-lock.json is newer than its install: not running npm ci here (it would empty that shared folder); if the lock changed, run npm ci where it points`,
  );
} else if (!npmInstalled()) {
  log("installing npm packages (npm ci)…");
  // stderr is read whole and printed after, with npm's EBADENGINE blocks folded into one line
  const r = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], {
    cwd: root,
    stdio: ["inherit", "inherit", "pipe"],
    encoding: "utf8",
  });
  const { kept, summary } = foldEngineWarnings(r.stderr ?? "");
  if (kept.trim() !== "") process.stderr.write(kept.endsWith("\n") ? kept : `${kept}\n`);
  if (summary) log(summary);
  if (r.error) throw r.error;
  if (r.status !== 0) {
    log(`npm ci failed (exit ${r.status}); see its output above`);
    process.exit(r.status ?? 1);
  }
}

const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;

/**
 * Every external peer the tests and the demo start, checked the way they use it, with the
 * Debian packages that provide it and everything it needs (pymodbus 3.0's server imports
 * `serial` and `serial_asyncio`, which python3-pymodbus only Recommends; we install with
 * --no-install-recommends, so they are named here).
 * `check` returns `undefined` when the peer works, else what failed (its own stderr).
 */
const PEERS = [
  {
    name: "redis-server (TagBus)",
    packages: ["redis-server"],
    required: true,
    check: () => runs("redis-server", ["--version"]),
  },
  { name: "socat (serial pty pairs)", packages: ["socat"], check: () => runs("socat", ["-V"]) },
  {
    name: "pymodbus server (independent Modbus peer, /usr/bin/python3)",
    packages: ["python3-pymodbus", "python3-serial", "python3-serial-asyncio"],
    check: () =>
      runs("/usr/bin/python3", [
        "-c",
        "import serial, serial_asyncio; from pymodbus.server import StartTcpServer; from pymodbus.framer.rtu_framer import ModbusRtuFramer",
      ]),
  },
  {
    name: "mosquitto (MQTT broker for the northbound tests and the demo)",
    packages: ["mosquitto", "mosquitto-clients"],
    check: () =>
      runs("mosquitto", ["-h"], /mosquitto version/) ??
      runs("mosquitto_sub", ["--help"], /mosquitto_sub/),
  },
  // The web UI's end-to-end test drives Debian's chromium with playwright-core (which cannot
  // download browsers here); test/web/browser.test.ts uses /usr/bin/chromium.
  {
    name: "chromium (web UI browser test)",
    packages: ["chromium"],
    check: () => runs("/usr/bin/chromium", ["--version"]),
  },
  // The TLS tests (test/north/tls, session-tls, test/web/main) make their certificates with the
  // openssl command (test/support/test-ca.ts): Priority optional in Debian, absent from
  // minimal images.
  {
    name: "openssl (certificates of the TLS tests)",
    packages: ["openssl"],
    check: () => runs("openssl", ["version"]),
  },
  // The packaging tests build .deb files (packaging/build-deb.ts runs dpkg-shlibdeps and
  // dpkg-gencontrol, from dpkg-dev) and test/packaging/systemd-container.sh uses ps (procps,
  // absent from minimal images).
  {
    name: "dpkg-dev (packaging tests)",
    packages: ["dpkg-dev"],
    check: () =>
      has("dpkg-shlibdeps") && has("dpkg-gencontrol")
        ? undefined
        : "dpkg-shlibdeps or dpkg-gencontrol not found",
  },
  {
    name: "procps (ps)",
    packages: ["procps"],
    check: () => (has("ps") ? undefined : "ps not found"),
  },
];

/**
 * Runs `cmd args` and says what went wrong, if anything: not found, a non-zero exit (some
 * programs exit non-zero for `-h`; then `expect` must match their output), with its stderr.
 * @returns `undefined` when it ran as expected, else a one-paragraph reason.
 */
function runs(cmd, args, expect) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 20_000 });
  if (r.error) return `${cmd}: ${r.error.code === "ENOENT" ? "not found" : r.error.message}`;
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}`;
  if (expect ? expect.test(out) : r.status === 0) return undefined;
  return `${[cmd, ...args].join(" ")} exited ${r.status}: ${out.trim().split("\n").slice(-6).join("\n")}`;
}

const failing = () =>
  PEERS.map((p) => ({ peer: p, why: p.check() })).filter((x) => x.why !== undefined);
const wanted = [...new Set(failing().flatMap((x) => x.peer.packages))];

if (wanted.length > 0 && !process.argv.includes("--no-apt")) {
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const sudo = isRoot ? [] : has("sudo") ? ["sudo"] : null;
  if (sudo === null || !has("apt-get")) {
    log(`cannot install (no apt-get, or not root and no sudo): ${wanted.join(" ")}`);
  } else {
    log(`installing ${wanted.join(", ")} with apt-get…`);
    const run = (args) => {
      const [cmd, ...rest] = [...sudo, ...args];
      return spawnSync(cmd, rest, {
        stdio: "inherit",
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      }).status;
    };
    // Debian starts the packaged redis-server (and mosquitto) service on install where systemd
    // runs; the tests start their own servers on free ports and do not use it. As root, a
    // temporary /usr/sbin/policy-rc.d (exit 101) keeps the maintainer scripts from starting anything.
    withServicesHeld(() => {
      if (run(["apt-get", "install", "-y", "-q", "--no-install-recommends", ...wanted]) === 0) {
        return true;
      }
      run(["apt-get", "update", "-q"]);
      return run(["apt-get", "install", "-y", "-q", "--no-install-recommends", ...wanted]) === 0;
    });
  }
}

// Check again, the way the tests use each peer, and name what still does not work.
const still = wanted.length > 0 ? failing() : [];
for (const { peer, why } of still) {
  log(
    `NOT WORKING: ${peer.name}\n  ${why.replaceAll("\n", "\n  ")}\n  install: apt-get install ${peer.packages.join(" ")}`,
  );
}
if (still.some((x) => x.peer.required)) process.exit(1);
if (still.length > 0) log("the tests that use the peers above will fail, naming the same cause");
