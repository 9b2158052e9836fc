import { Database, SQLiteError } from "bun:sqlite";
import { chownSync, closeSync, existsSync, openSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { NodiError } from "../core/errors.ts";
import { applyEdit, type ConfigEdit, type EditResult } from "./apply.ts";
import { type Entity, FIELDS, fromSqlRow, q, type SqlRow } from "./fields.ts";
import { currentVersion, migrate, SCHEMA_VERSION } from "./migrations.ts";
import type { Northbound } from "./northbound-schema.ts";
import { expandConfig } from "./profiles.ts";
import type {
  Block,
  Connection,
  ConnectionConfig,
  Device,
  Profile,
  ProfileBlock,
  ProfileConfig,
  ProfileTag,
  Tag,
} from "./schema.ts";
import { sqliteFailure } from "./sqlite-failure.ts";

/** Options of {@link openStore}. */
export interface StoreOptions {
  /** Open read-only: no migration, no writes (fails when the schema is older than this build's). */
  readonly?: boolean;
  /** How long a statement waits for another process's write lock, ms. Default 5000. */
  busyTimeoutMs?: number;
  /**
   * Create the file when missing. Default true (false with `readonly`). Only what explicitly
   * creates configuration passes true (`db init`, `import`, `conn add`, the package's
   * postinst through `db init`); the daemons and every other command pass false, so a
   * mistyped `NE_DB`/`--db` never becomes a new, empty database.
   */
  create?: boolean;
}

/** One entry of the change journal: what a committed edit did to one connection. */
export interface JournalEntry {
  id: number;
  /** Commit time, ms since the epoch. */
  ts: number;
  /** Who made the change, e.g. `cli:import`, `web:alice`. */
  origin: string;
  conn_id: string;
  /** A {@link import("./changes.ts").ChangeKind}. */
  change: string;
}

/**
 * The SQLite source of truth (DESIGN.md §2): connections, their blocks and tags. Every
 * process (supervisor, interface apps, CLI, web UI) opens the same file; WAL mode lets
 * readers run beside one writer, and the busy timeout makes a second writer wait.
 *
 * Reads return rows as the snake_case types of `schema.ts` (nullable fields as `null`).
 * Writes go through {@link Store.apply}: validated, one transaction, journaled.
 */
export interface Store {
  /** The file path given to {@link openStore}. */
  readonly path: string;
  /** The schema version of the file (equal to this build's after a writable open). */
  readonly schemaVersion: number;
  /** The underlying handle, for tests and tools; prefer the typed methods. */
  readonly db: Database;
  /** Every connection, sorted by `conn_id`. */
  listConnections(): Connection[];
  /** One connection, or `undefined`. */
  getConnection(connId: string): Connection | undefined;
  /** The named devices of one connection's link (issue 14), sorted by `device`. */
  getDevices(connId: string): Device[];
  /** The blocks of one connection, in the order they were written, then its instances' (see getConnectionConfig). */
  getBlocks(connId: string): Block[];
  /** The tags of one connection, in the order they were written, then its instances'. */
  getTags(connId: string): Tag[];
  /**
   * A connection with its blocks and tags (what `ne-intf --conn-id` needs), or `undefined`;
   * `devices` is present when the connection has named devices. Every device that is an
   * instance of a profile is expanded: its blocks `{device}.{block_id}` and tags
   * `{device}/{tag_name}` follow the stored ones (`profiles.ts`). An edit may write such a
   * configuration back: the instances' unchanged rows are not stored ({@link Store.apply}).
   */
  getConnectionConfig(connId: string): ConnectionConfig | undefined;
  /** Every connection with its blocks and tags, sorted by `conn_id`, instances expanded. */
  getAllConfigs(): ConnectionConfig[];
  /** One connection's rows as stored: its devices (with their `profile`), no instance expanded (what export writes). */
  getStoredConfig(connId: string): ConnectionConfig | undefined;
  /** Every connection's rows as stored, sorted by `conn_id`. */
  getAllStoredConfigs(): ConnectionConfig[];
  /** Every device profile with its blocks and tags (in the order written), sorted by name. */
  listProfiles(): ProfileConfig[];
  /** One device profile, or `undefined`. */
  getProfile(name: string): ProfileConfig | undefined;
  /** Every northbound (northbound-schema.ts), sorted by `north_id`; `password` included. */
  listNorthbounds(): Northbound[];
  /** One northbound (what `ne-north --north-id` needs), or `undefined`; `password` included. */
  getNorthbound(northId: string): Northbound | undefined;
  /**
   * Applies an edit (upserts, removals) in ONE immediate transaction: validates the result,
   * writes, records the journal, and returns the change of each touched connection.
   * Nothing is written when it throws.
   * @throws NodiError kind `configuration` (details.issues: the validation issues) or
   *   `not_found` for a removal of an unknown connection; kind `communication` when SQLite
   *   cannot write (reason `disk_full` for SQLITE_FULL, `db_io_error` for SQLITE_IOERR…:
   *   `sqlite-failure.ts`), the transaction rolled back.
   */
  apply(edit: ConfigEdit): EditResult;
  /** The latest journal entries (newest last), at most `limit` (default 100), optionally of one connection. */
  journal(opts?: { connId?: string; limit?: number }): JournalEntry[];
  /** Closes the handle. Idempotent. */
  close(): void;
}

const SELECT_COLS: Record<Entity, string> = {
  connection: FIELDS.connection.map((f) => q(f.name)).join(", "),
  device: FIELDS.device.map((f) => q(f.name)).join(", "),
  block: FIELDS.block.map((f) => q(f.name)).join(", "),
  tag: FIELDS.tag.map((f) => q(f.name)).join(", "),
  northbound: FIELDS.northbound.map((f) => q(f.name)).join(", "),
  profile: FIELDS.profile.map((f) => q(f.name)).join(", "),
  profile_block: FIELDS.profile_block.map((f) => q(f.name)).join(", "),
  profile_tag: FIELDS.profile_tag.map((f) => q(f.name)).join(", "),
};

/**
 * Creates the database file `path` empty, mode 0600 (configuration with device and broker
 * passwords: readable by its owner only; SQLite gives its -wal and -shm files the same mode).
 * Run as root (`sudo nodi-edge import …` on a gateway) the file is given to the owner of its
 * folder (`/var/lib/nodi-edge`: the user nodi-edge), so that the services can still write it;
 * SQLite itself does the same for the -wal/-shm files of a root process. A file that appeared
 * meanwhile is left as it is.
 */
function createPrivateFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return;
    throw new NodiError(
      "communication",
      `cannot create database ${path}: ${(e as Error).message}`,
      "db_unavailable",
      { path },
      { cause: e },
    );
  }
  closeSync(fd);
  if (process.getuid?.() === 0) {
    const dir = statSync(dirname(resolve(path)));
    if (dir.uid !== 0) chownSync(path, dir.uid, dir.gid);
  }
}

/**
 * Opens (and creates, and migrates) the source of truth at `path`.
 * Sets WAL mode, `busy_timeout` and `foreign_keys`, then applies pending migrations.
 * @throws NodiError kind `not_found`, reason `no_database`, `no database at PATH; create it with
 *   nodi-edge db init`, when the file is missing and `opts.create` is false.
 * @throws NodiError kind `configuration`, reason `schema_too_new`, when the file was written
 *   by a newer Nodi Edge (its schema version is above {@link SCHEMA_VERSION}); kind
 *   `communication`, reason `db_unavailable`, when the file cannot be opened, or is not a
 *   SQLite database, or is damaged; reason `disk_full` / `db_io_error` when its filesystem is
 *   full or fails (no advice to re-create it then: `sqlite-failure.ts`).
 */
export function openStore(path: string, opts: StoreOptions = {}): Store {
  const readonly = opts.readonly ?? false;
  const create = !readonly && (opts.create ?? true);
  if (!create && path !== ":memory:" && !existsSync(path)) {
    throw new NodiError(
      "not_found",
      `no database at ${path}; create it with nodi-edge db init`,
      "no_database",
      { path },
    );
  }
  if (create && path !== ":memory:" && !existsSync(path)) createPrivateFile(path);
  let db: Database;
  try {
    db = readonly
      ? new Database(path, { readonly: true })
      : new Database(path, { create, readwrite: true, strict: false });
  } catch (e) {
    throw new NodiError(
      "communication",
      `cannot open database ${path}: ${(e as Error).message}`,
      "db_unavailable",
      { path },
      { cause: e },
    );
  }
  try {
    const busyTimeoutMs = Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000));
    db.run(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
    db.run("PRAGMA foreign_keys = ON");
    if (!readonly) {
      retryWhileBusy(() => {
        const mode = db.query("PRAGMA journal_mode").get() as { journal_mode: string };
        if (mode.journal_mode !== "wal") db.run("PRAGMA journal_mode = WAL");
      }, busyTimeoutMs);
      db.run("PRAGMA synchronous = NORMAL");
    }
    const found = currentVersion(db);
    if (found > SCHEMA_VERSION) {
      throw new NodiError(
        "configuration",
        `database ${path} has schema version ${found}, newer than this Nodi Edge understands (${SCHEMA_VERSION}); upgrade Nodi Edge or use a database written by this version`,
        "schema_too_new",
        { path, found, supported: SCHEMA_VERSION },
      );
    }
    if (!readonly) migrate(db);
    else if (found < SCHEMA_VERSION) {
      throw new NodiError(
        "configuration",
        `database ${path} has schema version ${found}, older than this Nodi Edge's (${SCHEMA_VERSION}); open it writable once (e.g. nodi-edge db init) to migrate it`,
        "schema_too_old",
        { path, found, supported: SCHEMA_VERSION },
      );
    }
  } catch (e) {
    db.close();
    if (e instanceof SQLiteError) {
      // A damaged or foreign file, a full disk, an I/O error: the operator's to fix, not a
      // bug (no stack trace, exit 69 in the CLI), each with its own advice.
      throw sqliteFailure(e, path, "the database was not changed");
    }
    throw e;
  }
  return new SqliteStore(path, db);
}

/**
 * What a daemon (`ne-supervisor`, `ne-web`) says, before it exits 78, when `NE_DB` names no
 * file: a mistyped path must not become an empty database that runs no connection.
 */
export function noDatabaseMessage(db: string): string {
  return `no database at ${db} (NE_DB); create it with nodi-edge db init (the package's postinst does), or set NE_DB to the existing database`;
}

class SqliteStore implements Store {
  private closed = false;
  constructor(
    readonly path: string,
    readonly db: Database,
  ) {}

  get schemaVersion(): number {
    return currentVersion(this.db);
  }

  listConnections(): Connection[] {
    const rows = this.db
      .query(`SELECT ${SELECT_COLS.connection} FROM connections ORDER BY conn_id`)
      .all() as SqlRow[];
    return rows.map((r) => fromSqlRow<Connection>("connection", r));
  }

  getConnection(connId: string): Connection | undefined {
    const row = this.db
      .query(`SELECT ${SELECT_COLS.connection} FROM connections WHERE conn_id = ?`)
      .get(connId) as SqlRow | null;
    return row ? fromSqlRow<Connection>("connection", row) : undefined;
  }

  getDevices(connId: string): Device[] {
    const rows = this.db
      .query(`SELECT ${SELECT_COLS.device} FROM devices WHERE conn_id = ? ORDER BY device`)
      .all(connId) as SqlRow[];
    return rows.map((r) => fromSqlRow<Device>("device", r));
  }

  /** The connection's stored rows, with `devices` set when it has any. */
  private storedOf(connection: Connection): ConnectionConfig {
    const id = connection.conn_id;
    const devices = this.getDevices(id);
    return {
      connection,
      ...(devices.length > 0 ? { devices } : {}),
      blocks: this.storedBlocks(id),
      tags: this.storedTags(id),
    };
  }

  /** The stored rows with the instances of profiles expanded (profiles read as needed). */
  private expanded(cfg: ConnectionConfig, cache: Map<string, ProfileConfig | undefined>) {
    const names = (cfg.devices ?? []).flatMap((d) => (d.profile ? [d.profile] : []));
    if (names.length === 0) return cfg;
    for (const n of names) if (!cache.has(n)) cache.set(n, this.getProfile(n));
    const profiles = new Map<string, ProfileConfig>();
    for (const [n, p] of cache) if (p) profiles.set(n, p);
    return expandConfig(cfg, profiles);
  }

  private storedBlocks(connId: string): Block[] {
    const rows = this.db
      .query(`SELECT ${SELECT_COLS.block} FROM blocks WHERE conn_id = ? ORDER BY rowid`)
      .all(connId) as SqlRow[];
    return rows.map((r) => fromSqlRow<Block>("block", r));
  }

  private storedTags(connId: string): Tag[] {
    const rows = this.db
      .query(`SELECT ${SELECT_COLS.tag} FROM tags WHERE conn_id = ? ORDER BY rowid`)
      .all(connId) as SqlRow[];
    return rows.map((r) => fromSqlRow<Tag>("tag", r));
  }

  getBlocks(connId: string): Block[] {
    return this.getConnectionConfig(connId)?.blocks ?? [];
  }

  getTags(connId: string): Tag[] {
    return this.getConnectionConfig(connId)?.tags ?? [];
  }

  getStoredConfig(connId: string): ConnectionConfig | undefined {
    // One read transaction, so the selects see the same commit.
    return this.db.transaction(() => {
      const connection = this.getConnection(connId);
      return connection ? this.storedOf(connection) : undefined;
    })();
  }

  getAllStoredConfigs(): ConnectionConfig[] {
    return this.db.transaction(() => this.listConnections().map((c) => this.storedOf(c)))();
  }

  getConnectionConfig(connId: string): ConnectionConfig | undefined {
    return this.db.transaction(() => {
      const connection = this.getConnection(connId);
      if (!connection) return undefined;
      return this.expanded(this.storedOf(connection), new Map());
    })();
  }

  getAllConfigs(): ConnectionConfig[] {
    return this.db.transaction(() => {
      const cache = new Map<string, ProfileConfig | undefined>();
      return this.listConnections().map((c) => this.expanded(this.storedOf(c), cache));
    })();
  }

  listProfiles(): ProfileConfig[] {
    return this.db.transaction(() => {
      const rows = this.db
        .query(`SELECT ${SELECT_COLS.profile} FROM profiles ORDER BY profile`)
        .all() as SqlRow[];
      return rows.map((r) => this.profileOf(fromSqlRow<Profile>("profile", r)));
    })();
  }

  getProfile(name: string): ProfileConfig | undefined {
    return this.db.transaction(() => {
      const row = this.db
        .query(`SELECT ${SELECT_COLS.profile} FROM profiles WHERE profile = ?`)
        .get(name) as SqlRow | null;
      return row ? this.profileOf(fromSqlRow<Profile>("profile", row)) : undefined;
    })();
  }

  private profileOf(profile: Profile): ProfileConfig {
    const blocks = this.db
      .query(
        `SELECT ${SELECT_COLS.profile_block} FROM profile_blocks WHERE profile = ? ORDER BY rowid`,
      )
      .all(profile.profile) as SqlRow[];
    const tags = this.db
      .query(`SELECT ${SELECT_COLS.profile_tag} FROM profile_tags WHERE profile = ? ORDER BY rowid`)
      .all(profile.profile) as SqlRow[];
    return {
      profile,
      blocks: blocks.map((r) => fromSqlRow<ProfileBlock>("profile_block", r)),
      tags: tags.map((r) => fromSqlRow<ProfileTag>("profile_tag", r)),
    };
  }

  listNorthbounds(): Northbound[] {
    const rows = this.db
      .query(`SELECT ${SELECT_COLS.northbound} FROM northbounds ORDER BY north_id`)
      .all() as SqlRow[];
    return rows.map((r) => fromSqlRow<Northbound>("northbound", r));
  }

  getNorthbound(northId: string): Northbound | undefined {
    const row = this.db
      .query(`SELECT ${SELECT_COLS.northbound} FROM northbounds WHERE north_id = ?`)
      .get(northId) as SqlRow | null;
    return row ? fromSqlRow<Northbound>("northbound", row) : undefined;
  }

  apply(edit: ConfigEdit): EditResult {
    try {
      return applyEdit(this, edit);
    } catch (e) {
      if (!(e instanceof SQLiteError)) throw e;
      // A failed statement or COMMIT (SQLITE_FULL, SQLITE_IOERR…) leaves nothing committed;
      // end the transaction if SQLite did not, so the claim below holds and the handle works.
      if (this.db.inTransaction) {
        try {
          this.db.run("ROLLBACK");
        } catch {
          // the connection is unusable; the caller's next call reports it
        }
      }
      const outcome = this.db.inTransaction
        ? "the transaction could not be rolled back; nothing was committed"
        : "nothing was changed (the transaction was rolled back)";
      throw sqliteFailure(e, this.path, outcome);
    }
  }

  journal(opts: { connId?: string; limit?: number } = {}): JournalEntry[] {
    const limit = opts.limit ?? 100;
    const rows = opts.connId
      ? this.db
          .query("SELECT * FROM config_journal WHERE conn_id = ? ORDER BY id DESC LIMIT ?")
          .all(opts.connId, limit)
      : this.db.query("SELECT * FROM config_journal ORDER BY id DESC LIMIT ?").all(limit);
    return (rows as JournalEntry[]).reverse();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}

/**
 * Runs `fn`, retrying while SQLite answers SQLITE_BUSY, for at most `timeoutMs`.
 * Switching a new file to WAL needs an exclusive lock, and SQLite returns SQLITE_BUSY at once
 * for it (without the busy handler) when another process is opening the same new file at the
 * same moment, e.g. the supervisor and an app on a gateway's first start.
 * @throws the last SQLiteError once `timeoutMs` has passed, or any other error at once.
 */
function retryWhileBusy(fn: () => void, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fn();
      return;
    } catch (e) {
      const busy = e instanceof SQLiteError && (e.code ?? "").startsWith("SQLITE_BUSY");
      if (!busy || Date.now() >= deadline) throw e;
      Bun.sleepSync(5 + Math.floor(Math.random() * 20));
    }
  }
}

/** `store.getNorthbound(northId)`: one northbound, or `undefined` (for `ne-north --north-id`). */
export function getNorthbound(store: Store, northId: string): Northbound | undefined {
  return store.getNorthbound(northId);
}

/** `store.listNorthbounds()`: every northbound, sorted by `north_id`. */
export function listNorthbounds(store: Store): Northbound[] {
  return store.listNorthbounds();
}
