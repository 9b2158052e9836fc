import { NodiError } from "../../core/errors.ts";
import type { ConfigAudit, EditResult } from "../../store/apply.ts";
import { expandConfig } from "../../store/profiles.ts";
import type { ConnectionConfig, ProfileConfig, Tag } from "../../store/schema.ts";
import type { Store } from "../../store/store.ts";
import type { ConfigIssue } from "../../store/validate.ts";
import { formatLoadError, type LoadError } from "../csv-file.ts";
import { importError } from "../import.ts";
import { type KepwareMapping, mapKepwareFile, type UnmappableRow } from "./map-file.ts";
import type { KepwareTag, MapOptions } from "./map-row.ts";
import { KEPWARE_COLUMNS, type KepwareColumn } from "./read.ts";

/** Options of {@link importKepware}. */
export interface KepwareImportOptions extends Omit<MapOptions, "device"> {
  /** The Modbus connection the tags go to (it must exist). */
  connId: string;
  /** A device of the connection (devices.csv): the tags are named `{device}/…` and read from it. */
  device?: string;
  /** Validate, map and plan only; write nothing. */
  dryRun?: boolean;
  /** Import the mappable rows although some rows are unmappable (they are listed). */
  skipUnmappable?: boolean;
  /**
   * The file's character encoding: `utf-8` (default) or `windows-1252` (an export saved in the
   * Windows "ANSI" code page of Western Europe and the Americas, where `°` is byte B0).
   */
  encoding?: KepwareEncoding;
  /** Journal origin. Default `cli:import-kepware`. */
  origin?: string;
  /** Who imports, for the audit trail (action `kepware.import`, target the connection; the file, counts and skipped rows are added). */
  audit?: Pick<ConfigAudit, "identity" | "recordedBy">;
}

/** Character encodings a Kepware export is read in. */
export const KEPWARE_ENCODINGS = ["utf-8", "windows-1252"] as const;
export type KepwareEncoding = (typeof KEPWARE_ENCODINGS)[number];

/** What a Kepware import did (or would do, with `dryRun`). */
export interface KepwareImportResult extends EditResult {
  conn_id: string;
  device?: string;
  file: string;
  /** The auto tags as stored (the connection's address base applied), in file order. */
  tags: Tag[];
  /** Names of imported tags that replaced a tag of the same name. */
  replaced: string[];
  unmappable: UnmappableRow[];
  /** True when the import went on without the unmappable rows (or would, in a dry run). */
  skipUnmappable: boolean;
  warnings: LoadError[];
  /** The connection after the import, profile instances expanded (what the plan is made from). */
  config: ConnectionConfig;
}

/** The Kepware column a store issue about `field` is best located at. */
const COLUMN_OF: Partial<Record<string, KepwareColumn>> = {
  tag_name: "name",
  address: "address",
  table: "address",
  bit: "address",
  length: "address",
  data_type: "dataType",
  access: "access",
  scan_ms: "scanRate",
  scale: "scaling",
  offset: "scaling",
  unit: "units",
  description: "description",
};

/**
 * Imports a KEPServerEX tag export into one Modbus connection as auto tags (table + scan_ms,
 * no block; the planner groups them into requests). Tags of the file replace the
 * connection's tags of the same name; its other tags and blocks stay. All or nothing: the
 * store is written in one transaction, or not at all.
 *
 * Unmappable rows (Kepware features without an equivalent, see `map-row.ts`) refuse the
 * import unless `skipUnmappable`, so that a tag is never lost without the user deciding it;
 * a dry run lists them either way.
 * @throws NodiError `not_found` for an unknown connection; `configuration` reason `usage` for
 *   an OPC UA connection or an unknown device; `configuration` reason `invalid_csv` with
 *   `details.errors` (located in the file) for bad input or a tag the store refuses;
 *   `configuration` reason `unmappable` with `details.unmappable` and `details.tags` (the
 *   count of mappable rows).
 */
export function importKepware(
  store: Store,
  input: { file: string; bytes: Uint8Array },
  opts: KepwareImportOptions,
): KepwareImportResult {
  // The stored rows (profile instances not expanded): what is written back.
  const cfg = store.getStoredConfig(opts.connId);
  if (!cfg) throw new NodiError("not_found", `no connection "${opts.connId}"`);
  if (cfg.connection.protocol === "opcua") {
    throw new NodiError(
      "configuration",
      `connection "${opts.connId}" is OPC UA: a Kepware Modbus export goes to a Modbus connection`,
      "usage",
    );
  }
  if (opts.device !== undefined && !(cfg.devices ?? []).some((d) => d.device === opts.device)) {
    const names = (cfg.devices ?? []).map((d) => d.device);
    throw new NodiError(
      "configuration",
      `connection "${opts.connId}" has no device "${opts.device}" (${names.length > 0 ? `its devices: ${names.join(", ")}` : "it has none; add one with nodi-edge device add"})`,
      "usage",
    );
  }
  const bytes =
    opts.encoding === "windows-1252"
      ? new TextEncoder().encode(new TextDecoder("windows-1252").decode(input.bytes))
      : input.bytes;
  const m = mapKepwareFile(input.file, bytes, opts);
  if (m.errors.length > 0) {
    throw importError(
      m.errors.map((e) =>
        e.message.startsWith("the file is not UTF-8")
          ? {
              ...e,
              message: `${e.message}; or, for an export in the Windows "ANSI" code page, give --encoding windows-1252`,
            }
          : e,
      ),
    );
  }
  if (m.unmappable.length > 0 && !opts.skipUnmappable && !opts.dryRun) {
    throw unmappableError(input.file, m);
  }
  const base = cfg.connection.address_base === 1 ? 1 : 0;
  const tags = m.tags.map(({ tag }) => toStoredTag(opts.connId, tag, base));
  const names = new Set(tags.map((t) => t.tag_name));
  const replaced = cfg.tags.filter((t) => names.has(t.tag_name)).map((t) => t.tag_name);
  const next: ConnectionConfig = {
    ...cfg,
    tags: [...cfg.tags.filter((t) => !names.has(t.tag_name)), ...tags],
  };
  let r: EditResult;
  try {
    r = store.apply({
      origin: opts.origin ?? "cli:import-kepware",
      put: [next],
      dryRun: opts.dryRun ?? false,
      audit: {
        identity: opts.audit?.identity ?? {
          via: "unknown",
          who: opts.origin ?? "cli:import-kepware",
        },
        action: "kepware.import",
        target: opts.connId,
        ...(opts.audit?.recordedBy ? { recordedBy: opts.audit.recordedBy } : {}),
        detail: {
          file: input.file,
          ...(opts.device !== undefined ? { device: opts.device } : {}),
          tags: tags.length,
          replaced: replaced.length,
          skipped: m.unmappable.map((u) => u.name),
        },
      },
    });
  } catch (e) {
    throw locateStoreIssues(e, input.file, m, next, cfg.tags.length - replaced.length);
  }
  const stored = opts.dryRun
    ? expandConfig(next, profilesOf(store, next))
    : (store.getConnectionConfig(opts.connId) ?? next);
  return {
    ...r,
    conn_id: opts.connId,
    ...(opts.device !== undefined ? { device: opts.device } : {}),
    file: input.file,
    tags,
    replaced,
    unmappable: m.unmappable,
    skipUnmappable: opts.skipUnmappable ?? false,
    warnings: m.warnings,
    config: stored,
  };
}

/** The profiles `cfg`'s devices are instances of, by name. */
function profilesOf(store: Store, cfg: ConnectionConfig): Map<string, ProfileConfig> {
  const out = new Map<string, ProfileConfig>();
  for (const d of cfg.devices ?? []) {
    const p = d.profile ? store.getProfile(d.profile) : undefined;
    if (p) out.set(p.profile.profile, p);
  }
  return out;
}

/** A mapped tag as a stored auto tag: no block, its table and scan period; the address in the connection's base. */
function toStoredTag(connId: string, t: KepwareTag, base: 0 | 1): Tag {
  return {
    conn_id: connId,
    tag_name: t.tag_name,
    block_id: null,
    table: t.table,
    scan_ms: t.scan_ms,
    address: t.address + base,
    data_type: t.data_type,
    bit: t.bit ?? null,
    length: t.length ?? null,
    array_length: t.array_length ?? null,
    byte_order: t.byte_order,
    scale: t.scale,
    offset: t.offset,
    deadband: 0,
    access: t.access,
    unit: t.unit,
    description: t.description,
    node_id: null,
    sampling_interval_ms: null,
    queue_size: null,
  };
}

/** The error that refuses an import with unmappable rows (without `skipUnmappable`). */
function unmappableError(file: string, m: KepwareMapping): NodiError {
  const lines = m.unmappable.flatMap((u) =>
    u.reasons.map((r) => formatLoadError({ ...r, message: `${u.name}: ${r.message}` })),
  );
  return new NodiError(
    "configuration",
    `import refused, nothing was changed: ${m.unmappable.length} row(s) of ${file} cannot be mapped (${m.tags.length} can); give --skip-unmappable to import the others without them:\n${lines.join("\n")}`,
    "unmappable",
    { unmappable: m.unmappable, tags: m.tags.length },
  );
}

/**
 * A store refusal (ConfigIssue) of an imported tag, located at its row of the Kepware file;
 * issues of rows that were not imported (the connection's own tags) keep the store's wording.
 */
function locateStoreIssues(
  e: unknown,
  file: string,
  m: KepwareMapping,
  next: ConnectionConfig,
  firstImported: number,
): unknown {
  if (!(e instanceof NodiError) || e.kind !== "configuration") return e;
  const issues = e.details?.issues as ConfigIssue[] | undefined;
  if (!issues) return e;
  const lineOf = new Map(m.tags.map((t) => [t.tag.tag_name, t]));
  const errors: LoadError[] = [];
  for (const i of issues) {
    const name =
      i.entity === "tag" && i.index >= firstImported ? next.tags[i.index]?.tag_name : undefined;
    const line = name === undefined ? undefined : lineOf.get(name);
    if (line === undefined) return e;
    const key = COLUMN_OF[i.field];
    errors.push({
      file,
      line: line.line,
      column: key ? (line.cols[key] ?? 0) : 0,
      field: key ? KEPWARE_COLUMNS[key][0] : i.field,
      message: i.message,
    });
  }
  return importError(errors);
}
