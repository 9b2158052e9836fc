import type { Database } from "bun:sqlite";

/** One audit entry: who did what, when, to what, and whether it worked. */
export interface AuditEntry {
  id: number;
  /** ms since the epoch. */
  ts: number;
  /** `web:alice` (session) or `token:deploy-script@alice` (bearer token). */
  actor: string;
  /** e.g. `connection.add`, `block.upsert`, `tag.write`, `csv.import`, `login`, `token.create`. */
  action: string;
  /** What it touched, e.g. `mtc-01`, `/mtc-01/setpoint`. */
  target: string;
  /** Action-specific details (values written, fields changed, errors). */
  detail: Record<string, unknown>;
  ok: boolean;
}

/**
 * The audit trail of configuration changes, writes and logins, kept in the source of truth
 * (table `web_audit`). Entries are never edited; {@link AuditLog.prune} drops the oldest
 * beyond a bound so the file does not grow without end.
 */
export class AuditLog {
  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
    /** Entries kept (the oldest are pruned). */
    private readonly keep = 100_000,
  ) {}

  /** Records one entry and returns its id. */
  record(e: Omit<AuditEntry, "id" | "ts"> & { ts?: number }): number {
    const r = this.db
      .query(
        "INSERT INTO web_audit (ts, actor, action, target, detail, ok) VALUES (?, ?, ?, ?, ?, ?)",
      )
      .run(e.ts ?? this.now(), e.actor, e.action, e.target, JSON.stringify(e.detail), e.ok ? 1 : 0);
    const id = Number(r.lastInsertRowid);
    if (id % 1000 === 0) this.prune();
    return id;
  }

  /** Entries newest first, at most `limit` (default 100), optionally those whose target starts with `target`. */
  list(opts: { limit?: number; target?: string; beforeId?: number } = {}): AuditEntry[] {
    const limit = Math.min(Math.max(opts.limit ?? 100, 1), 1000);
    const rows = this.db
      .query(
        `SELECT * FROM web_audit WHERE (?1 IS NULL OR target = ?1 OR target LIKE ?1 || '/%' OR target LIKE '/' || ?1 || '/%')
         AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3`,
      )
      .all(opts.target ?? null, opts.beforeId ?? null, limit) as (Omit<
      AuditEntry,
      "detail" | "ok"
    > & { detail: string; ok: number })[];
    return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail), ok: r.ok === 1 }));
  }

  /** Drops entries beyond the newest `keep`. */
  prune(): void {
    this.db
      .query(
        "DELETE FROM web_audit WHERE id <= (SELECT id FROM web_audit ORDER BY id DESC LIMIT 1 OFFSET ?)",
      )
      .run(this.keep);
  }
}
