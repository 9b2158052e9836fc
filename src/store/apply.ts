import { NodiError } from "../core/errors.ts";
import type { Identity } from "../core/identity.ts";
import { AuditTrail } from "./audit.ts";
import { type ConnChange, classifyChange } from "./changes.ts";
import { type Entity, FIELDS, q, TABLE_OF, toSqlParams } from "./fields.ts";
import { classifyNorthChange, type NorthChange } from "./north-changes.ts";
import type { Northbound } from "./northbound-schema.ts";
import { expandConfig, storedRows } from "./profiles.ts";
import type { ConnectionConfig, ConnectionInput, ProfileConfig } from "./schema.ts";
import type { Store } from "./store.ts";
import { type ConfigIssue, formatIssue, validateConfig } from "./validate.ts";
import { validateNorthbounds } from "./validate-north.ts";
import { validateProfiles } from "./validate-profiles.ts";

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
  /**
   * Whole device profiles to create or replace: the profile row and ALL its blocks and tags,
   * unparsed. Every connection with an instance of a changed profile is touched (validated,
   * classified: a hot reload when it runs).
   */
  putProfiles?: readonly RawProfileConfig[];
  /** Profiles to delete (refused while a device is an instance of one). Unknown names are an error. */
  removeProfiles?: readonly string[];
  /** Also delete every stored profile that `putProfiles` does not name. */
  replaceAllProfiles?: boolean;
  /** Validate and classify only; write nothing. */
  dryRun?: boolean;
  /**
   * The audit entry of this edit, recorded in the same transaction as the change (a committed
   * change always has its entry; a refused or dry-run edit records nothing here: the caller
   * records refusals it wants kept). Absent: `config.apply` by `unknown:{origin}`.
   */
  audit?: ConfigAudit;
}

/** Who makes a configuration edit and how the audit trail names it. */
export interface ConfigAudit {
  identity: Identity;
  /** e.g. `connection.add`, `csv.import`, `conn.remove`. */
  action: string;
  /** A conn_id, north_id, or `""` for an import. */
  target?: string;
  /** Details (changed fields, files, counts); the changes are added. */
  detail?: Record<string, unknown>;
  /** The recording process (`nodi-edge`, `ne-web`). */
  recordedBy?: string;
}

/** A connection's rows before validation (e.g. straight from a CSV or a web form). */
export interface RawConnectionConfig {
  connection: unknown;
  /** Named devices of the link (absent: none). */
  devices?: readonly unknown[];
  blocks: readonly unknown[];
  tags: readonly unknown[];
}

/** A device profile's rows before validation. */
export interface RawProfileConfig {
  profile: unknown;
  blocks: readonly unknown[];
  tags: readonly unknown[];
}

/** What an edit did to the stored rows of one device profile. */
export interface ProfileChange {
  profile: string;
  stored: "created" | "deleted" | "updated" | "same";
}

/** The result of an edit: the change of every connection it touched, sorted by `conn_id`. */
export interface EditResult {
  changes: ConnChange[];
  /** The change of every device profile the edit touched, sorted by name. */
  profileChanges: ProfileChange[];
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
 * Validation covers the full resulting configuration of every touched connection (instances of
 * profiles expanded), every profile of `putProfiles`, every northbound row of
 * `putNorthbounds`, and that no conn_id equals a north_id after the edit. A connection of
 * `put` may carry its instances' rows as `getConnectionConfig` returned them: unchanged, they
 * are not stored rows and are dropped (`profiles.ts storedRows`). Changes are classified on
 * the expanded configurations, so a profile edit is a change of every connection using it.
 * @throws NodiError `configuration` (details.issues) or `not_found`; nothing is written then.
 */
export function applyEdit(store: Store, edit: ConfigEdit): EditResult {
  const db = store.db;
  const run = () => {
    const before = new Map(store.getAllStoredConfigs().map((c) => [c.connection.conn_id, c]));
    const after = new Map<string, RawConnectionConfig>(before);
    const touched = new Set<string>();

    // Profiles as they will be.
    const profBefore = new Map(store.listProfiles().map((p) => [p.profile.profile, p]));
    const profAfter = new Map(profBefore);
    const profTouched = new Set<string>();
    for (const name of edit.removeProfiles ?? []) {
      if (!profBefore.has(name)) {
        throw new NodiError("not_found", `no profile "${name}"`, "not_found", { profile: name });
      }
      profAfter.delete(name);
      profTouched.add(name);
    }
    const putProfiles = edit.putProfiles ?? [];
    if (putProfiles.length > 0) {
      const pv = validateProfiles({
        profiles: putProfiles.map((p) => p.profile),
        blocks: putProfiles.flatMap((p) => p.blocks),
        tags: putProfiles.flatMap((p) => p.tags),
      });
      if (!pv.ok) throw configError(pv.issues);
      for (const p of pv.value) {
        profAfter.set(p.profile.profile, p);
        profTouched.add(p.profile.profile);
      }
    }
    if (edit.replaceAllProfiles) {
      const named = new Set(putProfiles.map((p) => idOf(p.profile, "profile")));
      for (const name of profBefore.keys()) {
        if (!named.has(name)) {
          profAfter.delete(name);
          profTouched.add(name);
        }
      }
    }
    const expandedBefore = new Map(
      [...before].map(([id, c]) => [id, expandConfig(c, profBefore)] as const),
    );

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
      const was = expandedBefore.get(id);
      after.set(id, was ? storedRows(cfg as RawConnectionConfig, [was]) : cfg);
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

    // Every connection with an instance of a touched profile, before or after the edit.
    if (profTouched.size > 0) {
      const uses = (c: RawConnectionConfig | undefined) =>
        (c?.devices ?? []).some((d) => profTouched.has(idOf(d, "profile")));
      for (const [id, c] of before) if (uses(c)) touched.add(id);
      for (const [id, c] of after) if (uses(c)) touched.add(id);
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
    const r = validateConfig({ ...raw, profiles: profAfter });
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

    const changes = [...touched].sort().map((id) => {
      const next = valid.get(id);
      return classifyChange(expandedBefore.get(id), next && expandConfig(next, profAfter));
    });
    const profileChanges = [...profTouched].sort().map((name) => ({
      profile: name,
      stored: profileStored(profBefore.get(name), profAfter.get(name)),
    }));
    const northChanges = [...northTouched]
      .sort()
      .map((id) => classifyNorthChange(northBefore.get(id), northAfter.get(id)));
    if (edit.dryRun) return { changes, profileChanges, northChanges, dryRun: true };

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
    const delProfile = db.query("DELETE FROM profiles WHERE profile = ?");
    const delProfileBlocks = db.query("DELETE FROM profile_blocks WHERE profile = ?");
    const delProfileTags = db.query("DELETE FROM profile_tags WHERE profile = ?");
    const upProfile = db.query(upsertSql("profile", "profile"));
    const insProfileBlock = db.query(insertSql("profile_block"));
    const insProfileTag = db.query(insertSql("profile_tag"));
    for (const ch of profileChanges) {
      if (ch.stored === "same") continue;
      const p = profAfter.get(ch.profile);
      if (!p) delProfile.run(ch.profile);
      else {
        delProfileTags.run(ch.profile);
        delProfileBlocks.run(ch.profile);
        upProfile.run(...toSqlParams("profile", p.profile as unknown as Record<string, unknown>));
        for (const b of p.blocks)
          insProfileBlock.run(
            ...toSqlParams("profile_block", b as unknown as Record<string, unknown>),
          );
        for (const t of p.tags)
          insProfileTag.run(...toSqlParams("profile_tag", t as unknown as Record<string, unknown>));
      }
      // A profile is no connection: its journal entries are keyed `profile:{name}`.
      journal.run(now, edit.origin, `profile:${ch.profile}`, `profile_${ch.stored}`);
    }
    const a = edit.audit;
    new AuditTrail(db, a?.recordedBy ?? "nodi-edge").record({
      kind: "config",
      identity: a?.identity ?? { via: "unknown", who: edit.origin },
      action: a?.action ?? "config.apply",
      target: a?.target ?? [...touched, ...northTouched].sort().join(","),
      result: "done",
      detail: {
        ...(a?.detail ?? {}),
        changes,
        ...(northChanges.length > 0 ? { north_changes: northChanges } : {}),
        ...(profileChanges.length > 0 ? { profile_changes: profileChanges } : {}),
      },
      ts: now,
    });
    return { changes, profileChanges, northChanges, dryRun: false };
  };
  return db.transaction(run).immediate();
}

/** What an edit does to one profile's stored rows (order of blocks and tags counts: export order). */
function profileStored(
  before: ProfileConfig | undefined,
  after: ProfileConfig | undefined,
): ProfileChange["stored"] {
  if (!before) return "created";
  if (!after) return "deleted";
  const key = (p: ProfileConfig) =>
    JSON.stringify([
      toSqlParams("profile", p.profile as unknown as Record<string, unknown>),
      p.blocks.map((b) => toSqlParams("profile_block", b as unknown as Record<string, unknown>)),
      p.tags.map((t) => toSqlParams("profile_tag", t as unknown as Record<string, unknown>)),
    ]);
  return key(before) === key(after) ? "same" : "updated";
}
