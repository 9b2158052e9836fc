import type { Database } from "bun:sqlite";
import type { Logger } from "../core/log.ts";
import { type AuditRecord, AuditTrail } from "./audit.ts";
import { openStore } from "./store.ts";

/** Entries a daemon holds while the SoT cannot be written; beyond it the oldest are dropped (counted, logged). */
export const AUDIT_QUEUE_MAX = 10_000;
/** How often queued entries are written, ms. */
export const AUDIT_FLUSH_MS = 200;

/**
 * An audit recorder for the daemons (ne-intf, ne-north) whose event loop must never wait on
 * SQLite: `push` only queues; a timer writes the queue in one transaction on a handle with a
 * short busy timeout (the caller opens it so), and keeps the entries for the next try when
 * another process holds the write lock or the disk fails. At most {@link AUDIT_QUEUE_MAX}
 * wait; beyond that the oldest are dropped, counted in `dropped` and logged once a minute.
 */
export class AuditQueue {
  private queue: AuditRecord[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly trail: AuditTrail;
  private readonly db: Database;
  private loggedAt = 0;
  /** Entries dropped because the queue was full. */
  dropped = 0;
  /** Entries written. */
  written = 0;

  constructor(
    db: Database,
    recordedBy: string,
    private readonly log: Logger,
    private readonly max = AUDIT_QUEUE_MAX,
  ) {
    this.db = db;
    this.trail = new AuditTrail(db, recordedBy);
  }

  /** Queues one entry (its `ts` is taken now); written within {@link AUDIT_FLUSH_MS}. */
  push(r: AuditRecord): void {
    this.queue.push({ ...r, ts: r.ts ?? Date.now() });
    if (this.queue.length > this.max) {
      const n = this.queue.length - this.max;
      this.queue.splice(0, n);
      this.dropped += n;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, AUDIT_FLUSH_MS);
  }

  /** Writes what is queued now. @returns true when the queue is empty afterwards. */
  flush(): boolean {
    if (this.queue.length === 0) return true;
    const batch = this.queue;
    try {
      this.db.transaction(() => {
        for (const r of batch) this.trail.record(r);
      })();
      this.queue = this.queue.slice(batch.length);
      this.written += batch.length;
      return this.queue.length === 0;
    } catch (e) {
      const now = Date.now();
      if (now - this.loggedAt > 60_000) {
        this.loggedAt = now;
        this.log.warn(
          { err: String(e), queued: this.queue.length, dropped: this.dropped },
          "audit: cannot write the audit trail yet; entries kept in memory and retried",
        );
      }
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, AUDIT_FLUSH_MS * 5);
      return false;
    }
  }

  /** Stops the timer after a last flush. @returns true when nothing was left unwritten. */
  close(): boolean {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const ok = this.flush();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!ok || this.dropped > 0) {
      this.log.warn(
        { unwritten: this.queue.length, dropped: this.dropped },
        "audit: entries not written to the audit trail",
      );
    }
    return ok && this.dropped === 0;
  }
}

/**
 * Opens a second handle on the SoT at `path` with a 20 ms busy timeout, for an
 * {@link AuditQueue} of a daemon. @returns the queue and a close function (flushes, closes the
 * handle), or `undefined` after a warning when the file cannot be opened writable (writes are
 * then served without being recorded).
 */
export function openAuditQueue(
  path: string,
  recordedBy: string,
  log: Logger,
): { queue: AuditQueue; close(): void } | undefined {
  try {
    const store = openStore(path, { create: false, busyTimeoutMs: 20 });
    const queue = new AuditQueue(store.db, recordedBy, log);
    return {
      queue,
      close() {
        queue.close();
        store.close();
      },
    };
  } catch (e) {
    log.warn(
      { err: String(e) },
      "audit: cannot open the SoT for the audit trail; writes are not recorded",
    );
    return undefined;
  }
}
