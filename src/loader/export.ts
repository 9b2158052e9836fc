import { chmodSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "csv-stringify/sync";
import { NodiError } from "../core/errors.ts";
import { type Entity, FIELDS } from "../store/fields.ts";
import { NORTH_SECRET_FIELDS, type Northbound } from "../store/northbound-schema.ts";
import {
  CONN_SECRET_FIELDS,
  type Connection,
  type ConnectionConfig,
  type ProfileConfig,
} from "../store/schema.ts";
import type { Store } from "../store/store.ts";
import { formatCell } from "./cells.ts";
import { type CsvKind, WITHHELD } from "./import.ts";

/**
 * Renders configurations as the CSV files of docs/csv.md: every schema field as a column
 * (schema order), zero-based addresses, `null` as an empty cell, LF line ends, UTF-8 without
 * BOM; a text cell a spreadsheet would run as a formula (`=…`, `+…`, `-…`, `@…`) gets a
 * leading `'` (OWASP CSV injection; `cells.ts`). Importing the result gives back the same
 * configuration (the import removes exactly that `'`). A set password (of a connection in
 * `connections.csv`, of a northbound in `northbound.csv`) is written as {@link WITHHELD} (an
 * import keeps the stored one), never in clear, unless `opts.includeSecrets`.
 */
export function renderCsv(
  configs: readonly ConnectionConfig[],
  northbounds: readonly Northbound[] = [],
  profiles: readonly ProfileConfig[] = [],
  opts: ExportOptions = {},
): Record<"connections" | "blocks" | "tags" | "northbound", string> &
  Partial<Record<"devices" | "profiles" | "profile_blocks" | "profile_tags", string>> {
  const secrets = opts.includeSecrets === true;
  const render = (entity: Entity, rows: readonly object[]) => {
    const fields = FIELDS[entity];
    const cols = fields.map((f) => f.name);
    const data = rows.map((r) =>
      fields.map((f) => formatCell((r as Record<string, unknown>)[f.name], f)),
    );
    return stringify([cols, ...data], { record_delimiter: "unix" });
  };
  const devices = configs.flatMap((c) => c.devices ?? []);
  return {
    connections: render(
      "connection",
      configs.map((c) => (secrets ? c.connection : withholdConnectionSecrets(c.connection))),
    ),
    // Only when some connection has named devices: a file not given counts as none.
    ...(devices.length > 0 ? { devices: render("device", devices) } : {}),
    blocks: render(
      "block",
      configs.flatMap((c) => c.blocks),
    ),
    tags: render(
      "tag",
      configs.flatMap((c) => c.tags),
    ),
    northbound: render("northbound", secrets ? northbounds : northbounds.map(withholdSecrets)),
    // Only when there are profiles: a file not given counts as none.
    ...(profiles.length > 0
      ? {
          profiles: render(
            "profile",
            profiles.map((p) => p.profile),
          ),
          profile_blocks: render(
            "profile_block",
            profiles.flatMap((p) => p.blocks),
          ),
          profile_tags: render(
            "profile_tag",
            profiles.flatMap((p) => p.tags),
          ),
        }
      : {}),
  };
}

/**
 * The profiles an export carries: every stored one for a whole export (`whole`), else those
 * that the exported connections' devices are instances of (so the files import on their own).
 */
export function profilesToExport(
  store: Store,
  configs: readonly ConnectionConfig[],
  whole: boolean,
): ProfileConfig[] {
  const all = store.listProfiles();
  if (whole) return all;
  const used = new Set(configs.flatMap((c) => (c.devices ?? []).map((d) => d.profile ?? "")));
  return all.filter((p) => used.has(p.profile.profile));
}

/** Options of {@link renderCsv} and {@link exportCsv}. */
export interface ExportOptions {
  /**
   * Write passwords in clear (`nodi-edge export --include-secrets`); the files are then
   * created `0600`. Default false: a set password is written as {@link WITHHELD}.
   */
  includeSecrets?: boolean;
}

/** A connection row with every set secret field (the OPC UA password) replaced by {@link WITHHELD}. */
export function withholdConnectionSecrets<T extends Connection>(c: T): T {
  const out = { ...c } as Record<string, unknown>;
  for (const f of CONN_SECRET_FIELDS) if (out[f] != null && out[f] !== "") out[f] = WITHHELD;
  return out as T;
}

/** A connection's configuration as shown (`conn show`, the web API): its secrets withheld. */
export function withholdConfigSecrets<T extends ConnectionConfig>(cfg: T): T {
  return { ...cfg, connection: withholdConnectionSecrets(cfg.connection) };
}

/** A northbound row with every set secret field (the password) replaced by {@link WITHHELD}. */
export function withholdSecrets(n: Northbound): Northbound {
  const out = { ...n } as Record<string, unknown>;
  for (const f of NORTH_SECRET_FIELDS) if (out[f] !== null && out[f] !== "") out[f] = WITHHELD;
  return out as Northbound;
}

/**
 * Writes the configuration of `connIds` (default: every connection) to `dir` as
 * connections.csv, blocks.csv and tags.csv (and devices.csv when a connection has devices),
 * the rows as stored (a device's instance of a profile not expanded), the profiles used
 * (every profile, in a whole export) as profiles.csv, profile_blocks.csv and profile_tags.csv,
 * and, when no `connIds` are given, every northbound as northbound.csv (each written to a
 * temp file, then renamed). Passwords are written as {@link WITHHELD} unless
 * `opts.includeSecrets` (docs/security.md "Secrets").
 * @returns the paths written.
 * @throws NodiError `not_found` for an unknown conn_id.
 */
export function exportCsv(
  store: Store,
  dir: string,
  connIds?: readonly string[],
  opts: ExportOptions = {},
): string[] {
  const all = store.getAllStoredConfigs();
  let configs = all;
  if (connIds && connIds.length > 0) {
    configs = connIds.map((id) => {
      const c = all.find((x) => x.connection.conn_id === id);
      if (!c) throw new NodiError("not_found", `no connection "${id}"`);
      return c;
    });
  }
  const whole = !connIds || connIds.length === 0;
  const files: Partial<Record<CsvKind, string>> = renderCsv(
    configs,
    whole ? store.listNorthbounds() : [],
    profilesToExport(store, configs, whole),
    opts,
  );
  // Only a whole export carries northbound.csv: a partial one imported with --replace must not
  // remove the northbounds.
  if (!whole) delete files.northbound;
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const [kind, text] of Object.entries(files)) {
    const path = join(dir, `${kind}.csv`);
    // With passwords in clear: readable by the owner only (mode on create; chmod for an old file).
    writeFileSync(`${path}.tmp`, text, opts.includeSecrets ? { mode: 0o600 } : {});
    if (opts.includeSecrets) chmodSync(`${path}.tmp`, 0o600);
    renameSync(`${path}.tmp`, path);
    written.push(path);
  }
  return written;
}
