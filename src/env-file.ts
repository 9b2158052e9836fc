import { readFileSync } from "node:fs";

/** The settings file of the packaged units (DESIGN.md §3). */
export const PACKAGED_ENV_FILE = "/etc/nodi-edge/nodi-edge.env";

/**
 * Defaults the packaged units set with `Environment=` (the env file overrides them), applied
 * after the env file when it exists, so a hand-started program finds the packaged database.
 */
export const PACKAGED_DEFAULTS: Readonly<Record<string, string>> = {
  NE_DB: "/var/lib/nodi-edge/nodi-edge.db",
  // The package's own Redis instance of the tag bus (docs/security.md).
  NE_REDIS_URL: "unix:///run/redis-nodi-edge/redis-server.sock",
};

/**
 * Parses a systemd `EnvironmentFile=` (systemd.exec(5)): `NAME=value` lines, `#`/`;`
 * comments, blank lines, values optionally in single or double quotes. Lines that are not
 * assignments are ignored, as systemd does.
 * @returns the variables in file order (a later line wins).
 */
export function parseEnvFile(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2]!;
    const q = value[0];
    if ((q === '"' || q === "'") && value.length >= 2 && value.endsWith(q)) {
      value = value.slice(1, -1);
      if (q === '"') value = value.replace(/\\(["\\$`])/g, "$1");
    }
    vars[m[1]!] = value;
  }
  return vars;
}

/** Options of {@link applyEnvFile}, for tests. */
export interface ApplyEnvFileOptions {
  /** Reads the file (default `readFileSync(file, "utf8")`); throws a Node fs error. */
  read?: (file: string) => string;
  /** Receives the one-line warning when the file exists but cannot be read (default: stderr). */
  warn?: (line: string) => void;
}

/** Words for the fs error codes a reader meets here (node `err.code`). */
const REASON: Readonly<Record<string, string>> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a directory",
};

/**
 * Gives a program started by hand (the `nodi-edge` CLI on an installed gateway) the settings
 * the units get from `EnvironmentFile=` and `Environment=`: every variable of `file`, then of
 * `defaults`, that `env` does not set already is copied into `env`.
 * - A missing file (ENOENT, ENOTDIR) changes nothing, not even the defaults: it is not an
 *   installed gateway.
 * - A file that exists but cannot be read (an admin outside group `nodi-edge`: the packaged
 *   file is `root:nodi-edge 0640`) still gets the packaged `defaults` (so `NE_DB` names the
 *   gateway's database, not `./nodi-edge.db`, and `NE_REDIS_URL` the package's bus socket), and `warn` gets one line, e.g.
 *   `cannot read /etc/nodi-edge/nodi-edge.env (permission denied): run as root or as a member
 *   of group nodi-edge`.
 * @returns the names of the variables copied.
 */
export function applyEnvFile(
  file: string = PACKAGED_ENV_FILE,
  env: Record<string, string | undefined> = process.env,
  defaults: Readonly<Record<string, string>> = PACKAGED_DEFAULTS,
  opts: ApplyEnvFileOptions = {},
): string[] {
  const read = opts.read ?? ((f: string) => readFileSync(f, "utf8"));
  const warn = opts.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
  let vars: Record<string, string> = {};
  try {
    vars = parseEnvFile(read(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "";
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    const denied = code === "EACCES" || code === "EPERM";
    warn(
      `cannot read ${file} (${REASON[code] ?? (code || String(e))})` +
        (denied ? ": run as root or as a member of group nodi-edge" : ""),
    );
  }
  const copied: string[] = [];
  for (const [k, v] of [...Object.entries(vars), ...Object.entries(defaults)]) {
    if (env[k] === undefined) {
      env[k] = v;
      copied.push(k);
    }
  }
  return copied;
}
