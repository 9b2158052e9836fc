import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { isNodiError, NodiError } from "../core/errors.ts";
import type { EditResult } from "../store/apply.ts";
import { type Entity, FIELDS } from "../store/fields.ts";
import type { Northbound } from "../store/northbound-schema.ts";
import type { ConnectionConfig, ProfileConfig } from "../store/schema.ts";
import type { Store } from "../store/store.ts";
import { type ConfigIssue, type ValidConfig, validateConfig } from "../store/validate.ts";
import { validateNorthbounds } from "../store/validate-north.ts";
import { validateProfiles } from "../store/validate-profiles.ts";
import { convertCell, isTextField, restoreFormulaLike } from "./cells.ts";
import { type CsvTable, formatLoadError, type LoadError, parseCsv } from "./csv-file.ts";
import { parseModicon } from "./modicon.ts";

/** An array data type in a tags.csv cell: `float32[10]` (base type, element count). */
const ARRAY_TYPE_RE = /^([a-z0-9]+)\[(\d{1,4})\]$/;

/**
 * The CSV files of a configuration: the connections' (devices.csv optional), the
 * northbounds', and the device profiles' (profiles.csv with profile_blocks.csv and
 * profile_tags.csv).
 */
export type CsvKind =
  | "connections"
  | "devices"
  | "blocks"
  | "tags"
  | "northbound"
  | "profiles"
  | "profile_blocks"
  | "profile_tags";
export const CSV_KINDS: readonly CsvKind[] = [
  "connections",
  "devices",
  "blocks",
  "tags",
  "northbound",
  "profiles",
  "profile_blocks",
  "profile_tags",
];
/** The kinds of a device profile's files. */
export const PROFILE_KINDS: readonly CsvKind[] = ["profiles", "profile_blocks", "profile_tags"];
const ENTITY_OF: Record<CsvKind, Entity> = {
  connections: "connection",
  devices: "device",
  blocks: "block",
  tags: "tag",
  northbound: "northbound",
  profiles: "profile",
  profile_blocks: "profile_block",
  profile_tags: "profile_tag",
};
/** Kinds in the order a file name is matched: `profile_blocks` before `blocks` (`…_blocks.csv`). */
const MATCH_ORDER: readonly CsvKind[] = [
  ...PROFILE_KINDS,
  ...CSV_KINDS.filter((k) => !PROFILE_KINDS.includes(k)),
];

/**
 * The `password` cell of an exported `connections.csv` or `northbound.csv` (passwords are
 * exported only with `--include-secrets`). On import it means "keep the stored password";
 * for a connection or northbound without one it is an error (docs/security.md "Secrets").
 */
export const WITHHELD = "*withheld*";

/** The loader-only column holding a Modicon reference instead of `address` (blocks, tags). */
export const MODICON_COLUMN = "modicon";

/** One input file: its kind, its name (for messages) and its bytes. */
export interface CsvInput {
  kind: CsvKind;
  file: string;
  bytes: Uint8Array;
}

/**
 * The kind of a CSV file from its name: `…connections.csv`, `…devices.csv`, `…blocks.csv`,
 * `…tags.csv`, `…northbound.csv`, `…profiles.csv`, `…profile_blocks.csv`, `…profile_tags.csv`.
 */
export function kindOfFile(path: string): CsvKind | undefined {
  const name = basename(path).toLowerCase();
  return MATCH_ORDER.find(
    (k) =>
      name === `${k}.csv` ||
      name.endsWith(`.${k}.csv`) ||
      name.endsWith(`_${k}.csv`) ||
      name.endsWith(`-${k}.csv`),
  );
}

/**
 * Refuses a second input of `kind`: call before adding `file` to `inputs`. The profile files
 * may come several times (one folder per profile: `nodi-edge profile add DIR DIR…`).
 * @throws NodiError `configuration` (reason `usage`) naming both files.
 */
export function checkNewKind(inputs: readonly CsvInput[], kind: CsvKind, file: string): void {
  if (PROFILE_KINDS.includes(kind)) return;
  const dup = inputs.find((i) => i.kind === kind);
  if (dup) {
    throw new NodiError(
      "configuration",
      `two ${kind} files: ${dup.file} and ${file}; give one of each kind`,
      "usage",
    );
  }
}

/**
 * Refuses inputs without a `connections.csv` (an import describes whole connections), unless
 * the inputs are only `northbound.csv` and device profile files.
 * @throws NodiError `configuration` (reason `usage`).
 */
export function requireConnections(inputs: readonly CsvInput[]): void {
  const standalone = (k: CsvKind) => k === "northbound" || PROFILE_KINDS.includes(k);
  if (inputs.length > 0 && inputs.every((i) => standalone(i.kind))) return;
  if (!inputs.some((i) => i.kind === "connections")) {
    throw new NodiError(
      "configuration",
      "connections.csv is required: an import describes whole connections (see docs/csv.md)",
      "usage",
    );
  }
}

/**
 * Reads the input files named by `paths`: a directory contributes its `connections.csv`,
 * `devices.csv`, `blocks.csv`, `tags.csv` and `northbound.csv` (those present); a file is taken by its name (see
 * {@link kindOfFile}).
 * @throws NodiError `not_found` for a missing path; `configuration` (reason `usage`) for a
 *   file of unknown kind, two files of one kind, or no `connections.csv`.
 */
export function readInputs(paths: readonly string[]): CsvInput[] {
  const inputs: CsvInput[] = [];
  const add = (file: string, kind: CsvKind) => {
    checkNewKind(inputs, kind, file);
    inputs.push({ kind, file, bytes: readFileSync(file) });
  };
  for (const p of paths) {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch {
      throw new NodiError("not_found", `no such file or directory: ${p}`);
    }
    if (st.isDirectory()) {
      const names = new Set(readdirSync(p));
      const found = CSV_KINDS.filter((k) => names.has(`${k}.csv`));
      if (found.length === 0) {
        throw new NodiError(
          "not_found",
          `${p} holds none of ${CSV_KINDS.map((k) => `${k}.csv`).join(", ")}`,
        );
      }
      for (const k of found) add(join(p, `${k}.csv`), k);
    } else {
      const kind = kindOfFile(p);
      if (!kind) {
        throw new NodiError(
          "configuration",
          `cannot tell what ${p} holds: name it ${CSV_KINDS.map((k) => `${k}.csv`).join(", ")} (or end the name with .connections.csv, …)`,
          "usage",
        );
      }
      add(p, kind);
    }
  }
  requireConnections(inputs);
  return inputs;
}

interface RowPos {
  file: string;
  line: number;
  /** 1-based column of each field present in the file. */
  cols: Record<string, number>;
  /** Fields whose cell could not be converted (already reported). */
  bad: Set<string>;
  /** True when `address` came from the `modicon` column. */
  modicon: boolean;
  /** The row's ids as written (`conn_id`, `north_id`). */
  ids: Record<string, string>;
}

/**
 * The result of {@link parseConfig}: the validated rows, or every error found. `northbounds`
 * is `undefined` when no `northbound.csv` was given (the import leaves northbounds alone),
 * `profiles` when no `profiles.csv` was given.
 */
export type ParseResult =
  | {
      ok: true;
      config: ValidConfig;
      northbounds: Northbound[] | undefined;
      profiles: ProfileConfig[] | undefined;
    }
  | { ok: false; errors: LoadError[] };

/** Options of {@link parseConfig}. */
export interface ParseOptions {
  /**
   * Profiles stored already (e.g. `store.listProfiles()`), which devices.csv may name besides
   * those of profiles.csv (a profile in both: profiles.csv's).
   */
  profiles?: readonly ProfileConfig[];
}

/**
 * Parses and validates the CSV files of a configuration (all of them, reporting every error).
 * Rules: see docs/csv.md, `store/validate.ts` and `store/validate-profiles.ts`. Never throws
 * on bad input.
 */
export function parseConfig(inputs: readonly CsvInput[], opts: ParseOptions = {}): ParseResult {
  return parseWithPositions(inputs, opts).result;
}

/** Where each row came from, by entity and id (`conn_id`, `north_id`), to locate later issues. */
type Located = Record<Entity, RowPos[]>;

function parseWithPositions(
  inputs: readonly CsvInput[],
  opts: ParseOptions = {},
): { result: ParseResult; pos: Located } {
  const errors: LoadError[] = [];
  const empty = <T>(): Record<Entity, T[]> => ({
    connection: [],
    device: [],
    block: [],
    tag: [],
    northbound: [],
    profile: [],
    profile_block: [],
    profile_tag: [],
  });
  const rows = empty<Record<string, unknown>>();
  const pos = empty<RowPos>();
  const tables: Partial<Record<CsvKind, CsvTable[]>> = {};

  for (const input of inputs) {
    const r = parseCsv(input.file, input.bytes);
    errors.push(...r.errors);
    if (!r.table) continue;
    const entity = ENTITY_OF[input.kind];
    const fields = FIELDS[entity];
    const known = new Set(fields.map((f) => f.name));
    const extra = ["block", "tag", "profile_block", "profile_tag"].includes(entity)
      ? [MODICON_COLUMN]
      : [];
    const header = r.table.header;
    let headerOk = true;
    header.forEach((h, i) => {
      if (!known.has(h) && !extra.includes(h)) {
        headerOk = false;
        errors.push({
          file: input.file,
          line: 1,
          column: i + 1,
          message: `unknown column "${h}"; the columns of ${input.kind}.csv are ${[...known, ...extra].join(", ")}`,
        });
      } else if (header.indexOf(h) !== i) {
        headerOk = false;
        errors.push({
          file: input.file,
          line: 1,
          column: i + 1,
          message: `column "${h}" appears twice`,
        });
      }
    });
    for (const f of fields) {
      if (f.required && !header.includes(f.name)) {
        headerOk = false;
        errors.push({
          file: input.file,
          line: 1,
          column: 0,
          field: f.name,
          message: `missing column "${f.name}" (required in ${input.kind}.csv)`,
        });
      }
    }
    if (!headerOk) continue;
    const list = tables[input.kind] ?? [];
    list.push(r.table);
    tables[input.kind] = list;
  }

  // Blocks first, so that a tag's Modicon reference can be checked against its block's table.
  const order: CsvKind[] = [
    "connections",
    "devices",
    "blocks",
    "tags",
    "northbound",
    "profiles",
    "profile_blocks",
    "profile_tags",
  ];
  const blockTable = new Map<string, string>();
  // A Modicon reference names a wire register (40001 = register 0); it is stored in the
  // connection's (or profile's) address_base (with base 1, 40001 is address 1).
  const addressBase = new Map<string, number>();
  // The owner of a row: its connection, or `profile:{name}` for a profile's rows.
  const ownerOf = (entity: Entity, row: Record<string, unknown>) =>
    entity.startsWith("profile") ? `profile:${String(row.profile)}` : String(row.conn_id);
  const inOrder = order.flatMap((kind) => (tables[kind] ?? []).map((table) => ({ kind, table })));
  for (const { kind, table } of inOrder) {
    const entity = ENTITY_OF[kind];
    const cols: Record<string, number> = {};
    table.header.forEach((h, i) => {
      cols[h] = i + 1;
    });
    for (const rec of table.records) {
      if (rec.cells.length !== table.header.length) continue; // reported by parseCsv
      const row: Record<string, unknown> = {};
      const p: RowPos = {
        file: table.file,
        line: rec.line,
        cols,
        bad: new Set(),
        modicon: false,
        ids: {},
      };
      const err = (field: string, message: string) => {
        p.bad.add(field);
        if (field === MODICON_COLUMN) p.bad.add("address");
        errors.push({ file: table.file, line: rec.line, column: cols[field] ?? 0, field, message });
      };
      for (const f of FIELDS[entity]) {
        const col = cols[f.name];
        if (col === undefined) continue;
        const written = rec.cells[col - 1] ?? "";
        // The `'` that export puts before a formula-like text (OWASP CSV injection) goes.
        const cell = isTextField(f) ? restoreFormulaLike(written) : written;
        // `float32[10]` in data_type: an array tag, the same as data_type float32 with array_length 10
        const arr = f.name === "data_type" ? ARRAY_TYPE_RE.exec(cell) : null;
        if (arr) {
          row.data_type = arr[1];
          row.array_length = Number(arr[2]);
          continue;
        }
        if (f.name === "array_length" && typeof row.array_length === "number") {
          if (cell !== "" && Number(cell) !== row.array_length) {
            err(
              f.name,
              `array_length ${cell} contradicts data_type ${String(row.data_type)}[${row.array_length}]; give one of them`,
            );
          }
          continue;
        }
        const c = convertCell(f, cell);
        if ("error" in c) {
          err(f.name, c.error);
          row[f.name] = cell; // keeps its id for cross-row checks; the schema issue is dropped below
        } else if (c.value !== undefined) row[f.name] = c.value;
      }
      const mcol = cols[MODICON_COLUMN];
      const mcell = mcol === undefined ? "" : (rec.cells[mcol - 1] ?? "");
      if (mcell !== "") {
        const m = parseModicon(mcell);
        const isBlock = entity === "block" || entity === "profile_block";
        const auto =
          (entity === "tag" || entity === "profile_tag") &&
          (row.block_id === undefined || row.block_id === null);
        const tableName =
          isBlock || auto
            ? (row.table ?? undefined)
            : blockTable.get(`${ownerOf(entity, row)}/${String(row.block_id)}`);
        // An auto tag without a table cell takes the table its reference names.
        if (!("error" in m) && auto && tableName === undefined) row.table = m.table;
        if ("error" in m) err(MODICON_COLUMN, m.error);
        else if (tableName !== undefined && m.table !== tableName) {
          err(
            MODICON_COLUMN,
            `${mcell} is a reference into ${m.table}, but ${isBlock ? "the block's table" : auto ? "the auto tag's table" : `block "${String(row.block_id)}"`} is ${String(tableName)}`,
          );
        } else {
          const base = addressBase.get(ownerOf(entity, row)) ?? 0;
          const address = m.address + base;
          const addrCell = cols.address === undefined ? "" : (rec.cells[cols.address - 1] ?? "");
          if (addrCell !== "" && row.address !== address) {
            err(
              MODICON_COLUMN,
              `${mcell} is address ${address}${base === 1 ? ` (register ${m.address}, address_base 1)` : ""}, but the address column says ${addrCell}; give one of them`,
            );
          } else {
            row.address = address;
            p.modicon = true;
          }
        }
      }
      for (const f of ["conn_id", "north_id", "profile"])
        if (typeof row[f] === "string") p.ids[f] = row[f];
      if (entity === "connection" || entity === "profile") {
        addressBase.set(ownerOf(entity, row), row.address_base === 1 ? 1 : 0);
      }
      if ((entity === "block" || entity === "profile_block") && typeof row.table === "string") {
        blockTable.set(`${ownerOf(entity, row)}/${String(row.block_id)}`, row.table);
      }
      rows[entity].push(row);
      pos[entity].push(p);
    }
  }

  // A file given but unreadable (bad CSV, bad header) has no rows: references into it from the
  // other files would each be reported as "no connection …" / "no block …", burying the one
  // real error. Skip those; the file's own error says it.
  const unreadable = (kind: CsvKind) =>
    inputs.filter((i) => i.kind === kind).length > (tables[kind]?.length ?? 0);
  const skipRef = (issue: ConfigIssue) =>
    (issue.field === "conn_id" &&
      issue.message.startsWith("no connection") &&
      unreadable("connections")) ||
    (issue.field === "block_id" && issue.message.startsWith("no block") && unreadable("blocks")) ||
    (issue.field === "device" && issue.message.startsWith("no device") && unreadable("devices")) ||
    (issue.field === "profile" &&
      issue.message.startsWith("no profile") &&
      (unreadable("profiles") ||
        (issue.entity === "device" && claimedProfiles.has(String(issue.got)))));
  const pv = validateProfiles({
    profiles: rows.profile,
    blocks: rows.profile_block,
    tags: rows.profile_tag,
  });
  // A profile of profiles.csv that has an error is reported there, not as missing on devices.
  const claimedProfiles = new Set(rows.profile.map((r) => String(r.profile)));
  const profiles = new Map((opts.profiles ?? []).map((p) => [p.profile.profile, p]));
  if (pv.ok) for (const p of pv.value) profiles.set(p.profile.profile, p);
  const v = validateConfig({
    connections: rows.connection,
    devices: rows.device,
    blocks: rows.block,
    tags: rows.tag,
    profiles,
  });
  const connIds = new Set(rows.connection.map((r) => String(r.conn_id)));
  const nv = validateNorthbounds(rows.northbound, connIds);
  const issues = [
    ...(v.ok ? [] : v.issues),
    ...(nv.ok ? [] : nv.issues),
    ...(pv.ok ? [] : pv.issues),
  ];
  for (const issue of issues) {
    const p = pos[issue.entity][issue.index];
    if (!p) continue;
    if (p.bad.has(issue.field)) continue; // the cell error already says it
    if (skipRef(issue)) continue;
    errors.push(issueToError(issue, p));
  }
  if (errors.length > 0) {
    const fileOrder = inputs.map((i) => i.file);
    errors.sort(
      (a, b) =>
        fileOrder.indexOf(a.file) - fileOrder.indexOf(b.file) ||
        a.line - b.line ||
        a.column - b.column,
    );
    return { result: { ok: false, errors }, pos };
  }
  const northbounds = inputs.some((i) => i.kind === "northbound")
    ? (nv as { ok: true; value: Northbound[] }).value
    : undefined;
  const profileRows = inputs.some((i) => i.kind === "profiles")
    ? (pv as { ok: true; value: ProfileConfig[] }).value
    : undefined;
  return {
    result: {
      ok: true,
      config: (v as { ok: true; value: ValidConfig }).value,
      northbounds,
      profiles: profileRows,
    },
    pos,
  };
}

function issueToError(issue: ConfigIssue, p: RowPos): LoadError {
  let column = p.cols[issue.field] ?? 0;
  if (issue.field === "address" && p.modicon) column = p.cols[MODICON_COLUMN] ?? column;
  return { file: p.file, line: p.line, column, field: issue.field, message: issue.message };
}

/** Groups validated rows by connection. */
export function groupConfig(config: ValidConfig): ConnectionConfig[] {
  const by = new Map<string, ConnectionConfig>();
  for (const c of config.connections) by.set(c.conn_id, { connection: c, blocks: [], tags: [] });
  for (const d of config.devices) {
    const cfg = by.get(d.conn_id);
    if (!cfg) continue;
    cfg.devices ??= [];
    cfg.devices.push(d);
  }
  for (const b of config.blocks) by.get(b.conn_id)?.blocks.push(b);
  for (const t of config.tags) by.get(t.conn_id)?.tags.push(t);
  return [...by.values()];
}

/** Options of {@link importCsv}. */
export interface ImportOptions {
  /** Validate and classify only; change nothing. */
  dryRun?: boolean;
  /**
   * Mirror: also remove every stored connection that connections.csv does not list, every
   * northbound that northbound.csv does not list, and every profile that profiles.csv does
   * not list (each only when that file is given).
   */
  replace?: boolean;
  /** Journal origin. Default `cli:import`. */
  origin?: string;
  /**
   * Who imports, for the audit trail (recorded with the commit; files, replace and counts are
   * added to its detail). Default: `unknown:{origin}`.
   */
  audit?: import("../store/apply.ts").ConfigAudit;
}

/** What an import did (or would do, with `dryRun`). */
export interface ImportResult extends EditResult {
  counts: {
    connections: number;
    devices: number;
    blocks: number;
    tags: number;
    northbounds: number;
    /** Profiles of profiles.csv (absent when none was given). */
    profiles?: number;
  };
}

/** The error thrown for bad input: `details.errors` holds every {@link LoadError}. */
export function importError(errors: LoadError[]): NodiError {
  const lines = errors.map(formatLoadError);
  return new NodiError(
    "configuration",
    `import refused, nothing was changed; ${errors.length} error(s):\n${lines.join("\n")}`,
    "invalid_csv",
    { errors },
  );
}

/**
 * Imports a CSV configuration into `store`, all or nothing. For every connection listed in
 * connections.csv, the files give its whole configuration: the connection row is created or
 * updated, and its devices, blocks and tags become exactly those of devices.csv, blocks.csv
 * and tags.csv (a file not given counts as empty). Connections not listed stay as they are, unless `replace`.
 * The DB is written in ONE transaction; announcing the changes on the TagBus is the caller's
 * next step (`store/notify.ts`), after this returns.
 * @throws NodiError `configuration`, reason `invalid_csv`, with `details.errors`, when any
 *   file has any error (nothing is written).
 */
export function importCsv(
  store: Store,
  inputs: readonly CsvInput[],
  opts: ImportOptions = {},
): ImportResult {
  const { result: parsed, pos } = parseWithPositions(inputs, { profiles: store.listProfiles() });
  if (!parsed.ok) throw importError(parsed.errors);
  const connections = keepWithheld(
    parsed.config.connections,
    (c) => store.getConnection(c.conn_id)?.password,
    (c) => `connection "${c.conn_id}"`,
    pos.connection,
    "connections.csv",
  );
  const configs = groupConfig({ ...parsed.config, connections });
  const northbounds =
    parsed.northbounds &&
    keepWithheld(
      parsed.northbounds,
      (n) => store.getNorthbound(n.north_id)?.password,
      (n) => `northbound "${n.north_id}"`,
      pos.northbound,
      "northbound.csv",
    );
  let r: EditResult;
  try {
    r = store.apply({
      origin: opts.origin ?? "cli:import",
      put: configs,
      // --replace mirrors each kind of file given: connections.csv, northbound.csv
      replaceAll: (opts.replace ?? false) && inputs.some((i) => i.kind === "connections"),
      ...(northbounds
        ? { putNorthbounds: northbounds, replaceAllNorthbounds: opts.replace ?? false }
        : {}),
      ...(parsed.profiles
        ? { putProfiles: parsed.profiles, replaceAllProfiles: opts.replace ?? false }
        : {}),
      dryRun: opts.dryRun ?? false,
      audit: {
        identity: opts.audit?.identity ?? { via: "unknown", who: opts.origin ?? "cli:import" },
        action: opts.audit?.action ?? "csv.import",
        target: opts.audit?.target ?? "",
        ...(opts.audit?.recordedBy ? { recordedBy: opts.audit.recordedBy } : {}),
        detail: {
          ...(opts.audit?.detail ?? {}),
          files: inputs.map((i) => i.file),
          replace: opts.replace ?? false,
          counts: {
            connections: parsed.config.connections.length,
            devices: parsed.config.devices.length,
            blocks: parsed.config.blocks.length,
            tags: parsed.config.tags.length,
            northbounds: parsed.northbounds?.length ?? 0,
          },
        },
      },
    });
  } catch (e) {
    // Rules against the stored configuration (a north_id that is a stored conn_id, …):
    // located at the row of the file that names the id.
    const issues = isNodiError(e, "configuration")
      ? (e.details?.issues as ConfigIssue[] | undefined)
      : undefined;
    const located = issues?.map((i) => {
      const idField =
        i.entity === "northbound"
          ? "north_id"
          : i.entity.startsWith("profile")
            ? "profile"
            : "conn_id";
      const p = pos[i.entity].find((x) => x.ids[idField] === i.key.split("/")[0]);
      return p && issueToError(i, p);
    });
    if (located && located.length > 0 && located.every((x) => x !== undefined)) {
      throw importError(located as LoadError[]);
    }
    throw e;
  }
  return {
    ...r,
    counts: {
      connections: parsed.config.connections.length,
      devices: parsed.config.devices.length,
      blocks: parsed.config.blocks.length,
      tags: parsed.config.tags.length,
      northbounds: parsed.northbounds?.length ?? 0,
      ...(parsed.profiles ? { profiles: parsed.profiles.length } : {}),
    },
  };
}

/**
 * Replaces each {@link WITHHELD} password (an export without `--include-secrets`) by the
 * stored one, so that export → import keeps the stored passwords. Rows are connections or
 * northbounds, `positions` their rows' places in `file`.
 * @throws NodiError `invalid_csv` naming every such cell whose row has no stored password.
 */
function keepWithheld<R extends { password?: string | null }>(
  rows: readonly R[],
  stored: (row: R) => string | null | undefined,
  name: (row: R) => string,
  positions: readonly RowPos[],
  file: string,
): R[] {
  const errors: LoadError[] = [];
  const out = rows.map((r, i) => {
    if (r.password !== WITHHELD) return r;
    const password = stored(r);
    if (password) return { ...r, password };
    const p = positions[i];
    errors.push({
      file: p?.file ?? file,
      line: p?.line ?? 0,
      column: p?.cols.password ?? 0,
      field: "password",
      message: `${WITHHELD} stands for the stored password, but ${name(r)} has none stored: write the password, or leave the cell empty for none`,
    });
    return r;
  });
  if (errors.length > 0) throw importError(errors);
  return out;
}
