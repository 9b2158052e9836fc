// Keeps Debian maintainer scripts from starting services while this setup installs packages:
// a temporary /usr/sbin/policy-rc.d that exits 101 ("action forbidden by policy"), the
// mechanism invoke-rc.d and deb-systemd-invoke consult before starting a service (Debian
// Policy §9.3.3; /usr/share/doc/init-system-helpers/README.policy-rc.d). Without it,
// `apt-get install redis-server` starts the packaged redis-server.service on a host where
// systemd runs, and `.ci/run` would leave it running.
import { existsSync, lstatSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";

/** Where invoke-rc.d looks for the policy script. */
export const POLICY_RC_D = "/usr/sbin/policy-rc.d";

/** The script written: refuses every action (exit 101), with a note naming its owner. */
export const POLICY_SCRIPT =
  "#!/bin/sh\n# Temporary, written by nodi-edge scripts/ensure-deps.mjs while it installs packages:\n# start no services (exit 101 = action forbidden by policy). Removed afterwards.\nexit 101\n";

const present = (path) => {
  try {
    lstatSync(path); // a dangling symlink counts as present: leave it alone
    return true;
  } catch {
    return existsSync(path);
  }
};

/**
 * Runs `fn` with a temporary policy-rc.d in place, so package installs start nothing.
 * Only as root (writing /usr/sbin needs it; with sudo the installs start services as usual)
 * and only when no policy-rc.d exists (an existing one is the admin's and is kept as is).
 * The file is removed afterwards, also when `fn` throws or on SIGINT/SIGTERM/SIGHUP.
 * @param {() => T} fn
 * @param {{ path?: string, isRoot?: boolean }} [opts] `path` for tests.
 * @returns {T} what `fn` returns.
 * @template T
 */
export function withServicesHeld(fn, opts = {}) {
  const path = opts.path ?? POLICY_RC_D;
  const isRoot = opts.isRoot ?? (typeof process.getuid === "function" && process.getuid() === 0);
  if (!isRoot || present(path)) return fn();
  writeFileSync(path, POLICY_SCRIPT, { mode: 0o755 });
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    try {
      if (readFileSync(path, "utf8") === POLICY_SCRIPT) unlinkSync(path);
    } catch {
      // already gone
    }
  };
  const onSignal = (sig) => {
    remove();
    process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[sig] ?? 0));
  };
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const s of signals) process.on(s, onSignal);
  process.on("exit", remove);
  try {
    return fn();
  } finally {
    remove();
    for (const s of signals) process.off(s, onSignal);
    process.off("exit", remove);
  }
}
