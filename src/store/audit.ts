import type { Database } from "bun:sqlite";
import { actorOf, type Identity } from "../core/identity.ts";
import { AUDIT_KINDS, type AuditKind, getSetting } from "./settings.ts";

export type { AuditKind } from "./settings.ts";

/**
 * The result of an audited action:
 * - `done`: applied (the device accepted the write, the change was committed);
 * - `refused`: not applied, with a `reason` (`read_only`, `forbidden`, `timeout` when nothing
 *   was sent, a device exception such as `ILLEGAL_DATA_ADDRESS`, `bad_credentials`, …);
 * - `outcome_unknown`: a write was sent and no reply came: the device may have applied it.
 */
export type AuditResult = "done" | "refused" | "outcome_unknown";

/** The results, for filters. */
export const AUDIT_RESULTS: readonly AuditResult[] = ["done", "refused", "outcome_unknown"];

/** What a recorder gives for one entry. */
export interface AuditRecord {
  kind: AuditKind;
  /** Who, as established by how they authenticated (core/identity.ts). */
  identity: Identity;
  /** e.g. `tag.write`, `connection.add`, `csv.import`, `login`, `token.create`, `setting.set`. */
  action: string;
  /** What it touched: a tag path (`/mtc-01/setpoint`), a conn_id, a username, a token name. */
  target?: string;
  /** The value asked for (writes; any JSON value). */
  value?: unknown;
  /** The value before (writes: the tag's last value known to its interface app). */
  previous?: unknown;
  result: AuditResult;
  /** Why it was refused, or why the outcome is unknown. */
  reason?: string;
  /** Action-specific details (changed fields, counts, the message of a refusal, elapsed ms). */
  detail?: Record<string, unknown>;
  /** The TagBus write request id: entries of one write, by different recorders, share it. */
  requestId?: string;
  /** ms since the epoch; default now. */
  ts?: number;
}

/** One stored entry (table `audit`), as `nodi-edge audit --json` and `GET /api/audit` show it. */
export interface AuditEntry {
  id: number;
  /** ms since the epoch. */
  ts: number;
  kind: AuditKind;
  /** `via:who`: `web:alice`, `api:deploy`, `cli:root`, `north:n1`. */
  actor: string;
  via: string;
  /** From where (address, uid and pid, broker and topic). */
  source: string;
  /** The caller's own label (never the identity), or null. */
  label: string | null;
  action: string;
  target: string;
  value: unknown;
  previous: unknown;
  result: AuditResult;
  reason: string | null;
  detail: Record<string, unknown>;
  request_id: string | null;
  /** The process that wrote the entry (`ne-intf:mtc-01`, `ne-web`, `nodi-edge`, `ne-north:n1`). */
  recorded_by: string;
  /** `result === "done"`. */
  ok: boolean;
}

/** Filters of {@link AuditTrail.list}; all optional, combined with AND. */
export interface AuditFilter {
  /** Entries at or after this time, ms since the epoch. */
  since?: number;
  /** Entries before this time, ms. */
  until?: number;
  /** The actor (`web:alice`) or just the name after `via:` (`alice`). */
  who?: string;
  /** A target: the target itself, the paths below it, and for a conn_id its tags (`/id/…`). */
  target?: string;
  result?: AuditResult;
  kind?: AuditKind;
  action?: string;
  /** Entries with an id below this one (paging). */
  beforeId?: number;
  /** At most this many, newest first (1–10000, default 100). */
  limit?: number;
}

/** Longest JSON text of a value kept in an entry; longer values are cut (the length is noted). */
export const MAX_VALUE_CHARS = 1024;
/** Inserts of one kind by one process between two prunes of that kind. */
const PRUNE_EVERY = 100;

function valueText(v: unknown): string | null {
  if (v === undefined) return null;
  const s = JSON.stringify(v) ?? null;
  if (s === null || s.length <= MAX_VALUE_CHARS) return s;
  return JSON.stringify({ cut: s.slice(0, MAX_VALUE_CHARS), length: s.length });
}

type Row = Omit<AuditEntry, "value" | "previous" | "detail" | "ok"> & {
  value: string | null;
  previous: string | null;
  detail: string;
};

/**
 * The one audit trail of Nodi Edge (table `audit` in the SoT, store migration 9): tag writes,
 * configuration changes, logins and account administration, whoever records them (the
 * interface app that served a write, the web UI, the CLI, a northbound app). Entries are never
 * edited. Each {@link AuditKind} has its own retention (days) and cap (entries) in the
 * `settings` table, so a flood of one kind (failed logins) only pushes out older entries of
 * that kind.
 */
export class AuditTrail {
  private readonly inserts = new Map<AuditKind, number>();

  /**
   * @param recordedBy the recording process, stored with every entry (`ne-intf:mtc-01`).
   * @param now clock, ms since the epoch (tests).
   */
  constructor(
    private readonly db: Database,
    private readonly recordedBy: string,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Records one entry and returns its id; every 100th entry of a kind (per process) prunes that
   * kind. @throws SQLiteError when the file cannot be written (busy past its timeout, full disk).
   */
  record(r: AuditRecord): number {
    const id = r.identity;
    const res = this.db
      .query(
        `INSERT INTO audit (ts, kind, actor, via, source, label, action, target, value, previous,
           result, reason, detail, request_id, recorded_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        r.ts ?? this.now(),
        r.kind,
        actorOf(id),
        id.via,
        id.from ?? "",
        id.label ?? null,
        r.action,
        r.target ?? "",
        valueText(r.value),
        valueText(r.previous),
        r.result,
        r.reason ?? null,
        JSON.stringify(r.detail ?? {}),
        r.requestId ?? null,
        this.recordedBy,
      );
    const n = (this.inserts.get(r.kind) ?? 0) + 1;
    this.inserts.set(r.kind, n);
    if (n % PRUNE_EVERY === 0) this.prune(r.kind);
    return Number(res.lastInsertRowid);
  }

  /** Entries newest first (see {@link AuditFilter}). */
  list(f: AuditFilter = {}): AuditEntry[] {
    const limit = Math.min(Math.max(Math.floor(f.limit ?? 100) || 100, 1), 10_000);
    const rows = this.db
      .query(
        `SELECT * FROM audit WHERE
           (?1 IS NULL OR ts >= ?1) AND (?2 IS NULL OR ts < ?2)
           AND (?3 IS NULL OR actor = ?3 OR substr(actor, instr(actor, ':') + 1) = ?3)
           AND (?4 IS NULL OR target = ?4 OR target LIKE ?4 || '/%' OR target LIKE '/' || ?4 || '/%')
           AND (?5 IS NULL OR result = ?5) AND (?6 IS NULL OR kind = ?6) AND (?7 IS NULL OR action = ?7)
           AND (?8 IS NULL OR id < ?8)
         ORDER BY id DESC LIMIT ?9`,
      )
      .all(
        f.since ?? null,
        f.until ?? null,
        f.who ?? null,
        f.target ?? null,
        f.result ?? null,
        f.kind ?? null,
        f.action ?? null,
        f.beforeId ?? null,
        limit,
      ) as Row[];
    return rows.map((r) => ({
      ...r,
      value: r.value === null ? null : JSON.parse(r.value),
      previous: r.previous === null ? null : JSON.parse(r.previous),
      detail: JSON.parse(r.detail),
      ok: r.result === "done",
    }));
  }

  /**
   * Drops the entries of `kind` (default: every kind) older than its retention
   * (`audit.KIND.retention_days`) and beyond its cap (`audit.KIND.max_entries`, newest kept).
   * @returns how many entries were dropped.
   */
  prune(kind?: AuditKind): number {
    let dropped = 0;
    for (const k of kind ? [kind] : AUDIT_KINDS) {
      const days = getSetting(this.db, `audit.${k}.retention_days`);
      const cap = getSetting(this.db, `audit.${k}.max_entries`);
      dropped += this.db
        .query("DELETE FROM audit WHERE kind = ? AND ts < ?")
        .run(k, this.now() - days * 86_400_000).changes;
      dropped += this.db
        .query(
          `DELETE FROM audit WHERE kind = ?1 AND id <= (
             SELECT id FROM audit WHERE kind = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)`,
        )
        .run(k, cap).changes;
    }
    return dropped;
  }
}
