import { NodiError } from "../core/errors.ts";
import { type ConnChange, classifyChange } from "./changes.ts";
import { type Entity, FIELDS, q, TABLE_OF, toSqlParams } from "./fields.ts";
import { classifyNorthChange, type NorthChange } from "./north-changes.ts";
import type { Northbound } from "./northbound-schema.ts";
import type { ConnectionConfig, ConnectionInput } from "./schema.ts";
import type { Store } from "./store.ts";
import { type ConfigIssue, formatIssue, validateConfig } from "./validate.ts";
import { validateNorthbounds } from "./validate-north.ts";

/**
 * One edit of the configuration, applied atomically by {@link Store.apply}.
 * Order inside the edit: `remove`, then `put`, then `putConnections`; northbounds:
 * `removeNorthbounds`, then `putNorthbounds`.
 */
export interface ConfigEdit {
  /** Who makes the change (journal, logs), e.g. `cli:import`, `cli:conn-add`, `web:alice`. */
  origin: string;
  /** Whole connections to create or replace: the connection row, and ALL its devices, blocks and tags. */
  put?: readonly ConnectionConfig[] | readonly RawConnectionConfig[];
  /** Connection rows to create or update, keeping the blocks and tags already stored. */
  putConnections?: readonly (ConnectionInput | Record<string, unknown>)[];
  /** Connections to delete (with their blocks and tags). Unknown ids are an error. */
  remove?: readonly string[];
  /** Also delete every stored connection that `put` and `putConnections` do not name. */
  replaceAll?: boolean;
  /** Whole northbound rows (northbound-schema.ts) to create or replace, unparsed. */
  putNorthbounds?: readonly unknown[];
  /** Northbounds to delete. Unknown ids are an error. */
  removeNorthbounds?: readonly string[];
  /** Also delete every stored northbound that `putNorthbounds` does not name. */
  replaceAllNorthbounds?: boolean;
  /** Validate and classify only; write nothing. */
  dryRun?: boolean;
}

/** A connection's rows before validation (e.g. straight from a CSV or a web form). */
export interface RawConnectionConfig {
  connection: unknown;
  /** Named devices of the link (absent: none). */
  devices?: readonly unknown[];
  blocks: readonly unknown[];
  tags: readonly unknown[];
}

/** The result of an edit: the change of every connection it touched, sorted by `conn_id`. */
export interface EditResult {
  changes: ConnChange[];
  /** The change of every northbound the edit touched, sorted by `north_id`. */
  northChanges: NorthChange[];
  /** True when nothing was written (dry run). */
  dryRun: boolean;
}

/** A refused edit: the issues, each naming the connection/block/tag, field and rule. */
export function configError(issues: ConfigIssue[]): NodiError {
  const head = issues.slice(0, 20).map(formatIssue).join("\n  ");
  const more = issues.length > 20 ? `\n  … and ${issues.length - 20} more` : "";
  return new NodiError(
    "configuration",
    `configuration refused, ${issues.length} issue(s):\n  ${head}${more}`,
    "invalid_config",
    { issues },
  );
}

function insertSql(entity: Entity): string {
  const cols = FIELDS[entity].map((f) => q(f.name));
  return `INSERT INTO ${TABLE_OF[entity]} (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`;
}

function upsertSql(entity: Entity, idField: string): string {
  const cols = FIELDS[entity].map((f) => q(f.name));
  const updates = cols.filter((c) => c !== q(idField)).map((c) => `${c} = excluded.${c}`);
  return `${insertSql(entity)} ON CONFLICT(${idField}) DO UPDATE SET ${updates.join(", ")}`;
}

const idOf = (x: unknown, field = "conn_id"): string => {
  const v = x && typeof x === "object" ? (x as Record<string, unknown>)[field] : undefined;
  return typeof v === "string" ? v : "";
};

/**
 * Applies `edit` to `store` in one `BEGIN IMMEDIATE` transaction (see {@link Store.apply}).
 * Validation covers the full resulting configuration of every touched connection and every
 * northbound row of `putNorthbounds`, and that no conn_id equals a north_id after the edit.
 * @throws NodiError `configuration` (details.issues) or `not_found`; nothing is written then.
 */
export function applyEdit(store: Store, edit: ConfigEdit): EditResult {
  const db = store.db;
  const run = () => {
    const before = new Map(store.getAllConfigs().map((c) => [c.connection.conn_id, c]));
    const after = new Map<string, RawConnectionConfig>(before);
    const touched = new Set<string>();

    for (const id of edit.remove ?? []) {
      if (!before.has(id)) {
        throw new NodiError("not_found", `no connection "${id}"`, "not_found", { conn_id: id });
      }
      after.delete(id);
      touched.add(id);
    }
    const named = new Set<string>();
    for (const cfg of edit.put ?? []) {
      const id = idOf(cfg.connection);
      named.add(id);
      touched.add(id);
      after.set(id, cfg);
    }
    for (const conn of edit.putConnections ?? []) {
      const id = idOf(conn);
      named.add(id);
      touched.add(id);
      const prev = after.get(id);
      after.set(id, {
        connection: conn,
        devices: prev?.devices ?? [],
        blocks: prev?.blocks ?? [],
        tags: prev?.tags ?? [],
      });
    }
    if (edit.replaceAll) {
      for (const id of before.keys()) {
        if (!named.has(id)) {
          after.delete(id);
          touched.add(id);
        }
      }
    }

    // Validate the touched connections as they will be.
    const raw = {
      connections: [] as unknown[],
      devices: [] as unknown[],
      blocks: [] as unknown[],
      tags: [] as unknown[],
    };
    for (const id of touched) {
      const cfg = after.get(id);
      if (!cfg) continue;
      raw.connections.push(cfg.connection);
      raw.devices.push(...(cfg.devices ?? []));
      raw.blocks.push(...cfg.blocks);
      raw.tags.push(...cfg.tags);
    }
    // Northbounds as they will be.
    const northBefore = new Map(store.listNorthbounds().map((n) => [n.north_id, n]));
    const northIds = new Set(northBefore.keys());
    const northTouched = new Set<string>();
    for (const id of edit.removeNorthbounds ?? []) {
      if (!northBefore.has(id)) {
        throw new NodiError("not_found", `no northbound "${id}"`, "not_found", { north_id: id });
      }
      northIds.delete(id);
      northTouched.add(id);
    }
    const putNorth = edit.putNorthbounds ?? [];
    for (const row of putNorth) {
      const id = idOf(row, "north_id");
      northIds.add(id);
      northTouched.add(id);
    }
    if (edit.replaceAllNorthbounds) {
      const named = new Set(putNorth.map((row) => idOf(row, "north_id")));
      for (const id of northBefore.keys()) {
        if (!named.has(id)) {
          northIds.delete(id);
          northTouched.add(id);
        }
      }
    }

    const issues: ConfigIssue[] = [];
    const r = validateConfig(raw);
    if (!r.ok) issues.push(...r.issues);
    raw.connections.forEach((c, index) => {
      const id = idOf(c);
      if (northIds.has(id)) {
        issues.push({
          entity: "connection",
          index,
          key: id,
          field: "conn_id",
          message: `conn_id "${id}" is already a northbound's north_id: apps share one id space (/system/{id}/…)`,
          got: id,
        });
      }
    });
    const n = validateNorthbounds(putNorth, new Set(after.keys()));
    if (!n.ok) issues.push(...n.issues);
    if (issues.length > 0 || !r.ok || !n.ok) throw configError(issues);
    const valid = new Map<string, ConnectionConfig>();
    for (const c of r.value.connections)
      valid.set(c.conn_id, { connection: c, blocks: [], tags: [] });
    for (const d of r.value.devices) {
      const cfg = valid.get(d.conn_id);
      if (!cfg) continue;
      cfg.devices ??= [];
      cfg.devices.push(d);
    }
    for (const b of r.value.blocks) valid.get(b.conn_id)?.blocks.push(b);
    for (const t of r.value.tags) valid.get(t.conn_id)?.tags.push(t);
    const northAfter = new Map<string, Northbound>();
    for (const id of northIds) {
      const prev = northBefore.get(id);
      if (prev) northAfter.set(id, prev);
    }
    for (const row of n.value) northAfter.set(row.north_id, row);

    const changes = [...touched].sort().map((id) => classifyChange(before.get(id), valid.get(id)));
    const northChanges = [...northTouched]
      .sort()
      .map((id) => classifyNorthChange(northBefore.get(id), northAfter.get(id)));
    if (edit.dryRun) return { changes, northChanges, dryRun: true };

    const now = Date.now();
    const delConn = db.query("DELETE FROM connections WHERE conn_id = ?");
    const delTags = db.query("DELETE FROM tags WHERE conn_id = ?");
    const delBlocks = db.query("DELETE FROM blocks WHERE conn_id = ?");
    const delDevices = db.query("DELETE FROM devices WHERE conn_id = ?");
    const insDevice = db.query(insertSql("device"));
    const upConn = db.query(upsertSql("connection", "conn_id"));
    const insBlock = db.query(insertSql("block"));
    const insTag = db.query(insertSql("tag"));
    const journal = db.query(
      "INSERT INTO config_journal (ts, origin, conn_id, change) VALUES (?, ?, ?, ?)",
    );
    for (const ch of changes) {
      if (ch.stored === "same") continue;
      const cfg = valid.get(ch.conn_id);
      if (!cfg) {
        delConn.run(ch.conn_id);
      } else {
        upConn.run(
          ...toSqlParams("connection", cfg.connection as unknown as Record<string, unknown>),
        );
        delTags.run(ch.conn_id);
        delBlocks.run(ch.conn_id);
        delDevices.run(ch.conn_id);
        for (const d of cfg.devices ?? [])
          insDevice.run(...toSqlParams("device", d as unknown as Record<string, unknown>));
        for (const b of cfg.blocks)
          insBlock.run(...toSqlParams("block", b as unknown as Record<string, unknown>));
        for (const t of cfg.tags)
          insTag.run(...toSqlParams("tag", t as unknown as Record<string, unknown>));
      }
      journal.run(
        now,
        edit.origin,
        ch.conn_id,
        ch.stored === "updated" && ch.kind === "unchanged" ? "updated_disabled" : ch.kind,
      );
    }
    const delNorth = db.query("DELETE FROM northbounds WHERE north_id = ?");
    const upNorth = db.query(upsertSql("northbound", "north_id"));
    for (const ch of northChanges) {
      if (ch.stored === "same") continue;
      const row = northAfter.get(ch.north_id);
      if (!row) delNorth.run(ch.north_id);
      else upNorth.run(...toSqlParams("northbound", row as unknown as Record<string, unknown>));
      // north_ids and conn_ids share one id space, so the journal's conn_id column holds both;
      // the change kinds of northbounds start with `north_`.
      const kind =
        ch.stored === "updated" && ch.kind === "unchanged" ? "updated_disabled" : ch.kind;
      journal.run(now, edit.origin, ch.north_id, `north_${kind}`);
    }
    return { changes, northChanges, dryRun: false };
  };
  return db.transaction(run).immediate();
}
