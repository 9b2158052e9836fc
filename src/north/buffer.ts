import { Database } from "bun:sqlite";
import type { TagValue } from "../core/tag-value.ts";

/** Bytes a row costs beyond its path and value text (ids, ts, SQLite record header), for the size cap. */
export const ROW_OVERHEAD_BYTES = 32;

/** Caps of a {@link NorthBuffer}. */
export interface BufferLimits {
  /** Total row bytes (path + value JSON + {@link ROW_OVERHEAD_BYTES}) kept at most. */
  maxBytes: number;
  /** Rows whose source timestamp is older than this are dropped, ms. */
  maxAgeMs: number;
}

/** One buffered update. */
export interface BufferedRow {
  id: number;
  value: TagValue;
}

/**
 * The on-disk store-and-forward buffer of one northbound (docs/north.md "Store-and-forward"):
 * a bun:sqlite file (`{NE_DATA_DIR}/north/{north_id}/buffer.db`, WAL, synchronous=NORMAL)
 * with one row per update in arrival order. Updates go in while the broker is unreachable or
 * the gate is held (and the unconfirmed window of a lost session); they come out oldest first
 * and are deleted only once the broker confirmed them, so a crash mid-replay loses nothing.
 *
 * Over {@link BufferLimits} the oldest rows are deleted and counted exactly: {@link dropped}
 * (kept in the file, so it survives restarts) and the return value of {@link append} /
 * {@link expire}.
 */
export class NorthBuffer {
  private readonly db: Database;
  private bytesTotal = 0;
  private rows = 0;
  private droppedTotal = 0;
  private readonly insert;
  private limits: BufferLimits;

  /** Opens (or creates) the buffer file. @throws the SQLite error when the file cannot be opened. */
  constructor(file: string, limits: BufferLimits) {
    this.limits = limits;
    this.db = new Database(file, { create: true, strict: true });
    this.db.exec("PRAGMA journal_mode = WAL");
    this.db.exec("PRAGMA synchronous = NORMAL");
    this.db.exec(
      "CREATE TABLE IF NOT EXISTS buf (id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL, path TEXT NOT NULL, v TEXT NOT NULL, bytes INTEGER NOT NULL)",
    );
    this.db.exec("CREATE INDEX IF NOT EXISTS buf_ts ON buf (ts)");
    this.db.exec("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL)");
    const s = this.db
      .query("SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b FROM buf")
      .get() as {
      n: number;
      b: number;
    };
    this.rows = s.n;
    this.bytesTotal = s.b;
    const d = this.db.query("SELECT v FROM meta WHERE k = 'dropped'").get() as { v: number } | null;
    this.droppedTotal = d?.v ?? 0;
    this.insert = this.db.query("INSERT INTO buf (ts, path, v, bytes) VALUES (?, ?, ?, ?)");
  }

  /** Changes the caps (hot reload); applied at the next {@link append} or {@link expire}. */
  setLimits(limits: BufferLimits): void {
    this.limits = limits;
  }

  /** Buffered updates. */
  get count(): number {
    return this.rows;
  }

  /** Row bytes buffered (see {@link BufferLimits.maxBytes}). */
  get bytes(): number {
    return this.bytesTotal;
  }

  /** Updates dropped over the caps since the file was created. */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** Source timestamp of the oldest buffered update, ms, or undefined when empty. */
  oldestTs(): number | undefined {
    const r = this.db.query("SELECT min(ts) AS t FROM buf").get() as { t: number | null };
    return r.t ?? undefined;
  }

  /**
   * Appends updates in one transaction, then enforces the caps.
   * @returns how many of the oldest rows were dropped to stay within them.
   */
  append(values: readonly TagValue[], now = Date.now()): number {
    if (values.length === 0) return 0;
    let added = 0;
    this.db.transaction(() => {
      for (const v of values) {
        const body = JSON.stringify([v.value, v.quality, v.reason ?? null, v.producer, v.seq]);
        const bytes = v.path.length + body.length + ROW_OVERHEAD_BYTES;
        this.insert.run(v.ts, v.path, body, bytes);
        added += bytes;
      }
    })();
    this.rows += values.length;
    this.bytesTotal += added;
    return this.expire(now);
  }

  /**
   * Drops rows older than `maxAgeMs`, then the oldest rows while over `maxBytes`.
   * @returns the number dropped.
   */
  expire(now = Date.now()): number {
    let dropped = 0;
    this.db.transaction(() => {
      const cutoff = now - this.limits.maxAgeMs;
      const old = this.db
        .query("SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b FROM buf WHERE ts < ?")
        .get(cutoff) as { n: number; b: number };
      if (old.n > 0) {
        this.db.query("DELETE FROM buf WHERE ts < ?").run(cutoff);
        dropped += old.n;
        this.rows -= old.n;
        this.bytesTotal -= old.b;
      }
      while (this.bytesTotal > this.limits.maxBytes && this.rows > 0) {
        const over = this.bytesTotal - this.limits.maxBytes;
        const batch = this.db.query("SELECT id, bytes FROM buf ORDER BY id LIMIT 1000").all() as {
          id: number;
          bytes: number;
        }[];
        let freed = 0;
        let lastId = 0;
        let n = 0;
        for (const r of batch) {
          freed += r.bytes;
          lastId = r.id;
          n++;
          if (freed >= over) break;
        }
        this.db.query("DELETE FROM buf WHERE id <= ?").run(lastId);
        dropped += n;
        this.rows -= n;
        this.bytesTotal -= freed;
      }
      if (dropped > 0) {
        this.droppedTotal += dropped;
        this.db
          .query(
            "INSERT INTO meta (k, v) VALUES ('dropped', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
          )
          .run(this.droppedTotal);
      }
    })();
    return dropped;
  }

  /** Up to `limit` rows with id > `afterId`, oldest first. */
  peek(limit: number, afterId = 0): BufferedRow[] {
    const rows = this.db
      .query("SELECT id, ts, path, v FROM buf WHERE id > ? ORDER BY id LIMIT ?")
      .all(afterId, limit) as { id: number; ts: number; path: string; v: string }[];
    return rows.map((r) => {
      const [value, quality, reason, producer, seq] = JSON.parse(r.v) as [
        TagValue["value"],
        TagValue["quality"],
        string | null,
        string,
        number,
      ];
      const tv: TagValue = { path: r.path, value, quality, ts: r.ts, producer, seq };
      if (reason !== null) tv.reason = reason;
      return { id: r.id, value: tv };
    });
  }

  /** Deletes rows (confirmed by the broker). Ids already dropped are ignored. */
  remove(ids: readonly number[]): void {
    if (ids.length === 0) return;
    this.db.transaction(() => {
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        const marks = chunk.map(() => "?").join(",");
        const r = this.db
          .query(
            `SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b FROM buf WHERE id IN (${marks})`,
          )
          .get(...chunk) as { n: number; b: number };
        this.db.query(`DELETE FROM buf WHERE id IN (${marks})`).run(...chunk);
        this.rows -= r.n;
        this.bytesTotal -= r.b;
      }
    })();
  }

  close(): void {
    this.db.close();
  }
}
