import { readFileSync } from "node:fs";

/** The settings file of the packaged units (DESIGN.md §3). */
export const PACKAGED_ENV_FILE = "/etc/nodi-edge/nodi-edge.env";

/**
 * Defaults the packaged units set with `Environment=` (the env file overrides them), applied
 * after the env file when it exists, so a hand-started program finds the packaged database.
 */
export const PACKAGED_DEFAULTS: Readonly<Record<string, string>> = {
  NE_DB: "/var/lib/nodi-edge/nodi-edge.db",
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

/**
 * Gives a program started by hand (the `nodi-edge` CLI on an installed gateway) the settings
 * the units get from `EnvironmentFile=` and `Environment=`: every variable of `file`, then of
 * `defaults`, that `env` does not set already is copied into `env`. A missing or unreadable
 * file changes nothing (not even the defaults: it is not an installed gateway).
 * @returns the names of the variables copied.
 */
export function applyEnvFile(
  file: string = PACKAGED_ENV_FILE,
  env: Record<string, string | undefined> = process.env,
  defaults: Readonly<Record<string, string>> = PACKAGED_DEFAULTS,
): string[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const copied: string[] = [];
  for (const [k, v] of [...Object.entries(parseEnvFile(text)), ...Object.entries(defaults)]) {
    if (env[k] === undefined) {
      env[k] = v;
      copied.push(k);
    }
  }
  return copied;
}
