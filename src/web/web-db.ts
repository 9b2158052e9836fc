import type { Database } from "bun:sqlite";

/**
 * The web UI's own tables in the source-of-truth SQLite file, all named `web_*`, with their
 * own version table `web_schema_version` (the store's `schema_version` is not touched, so the
 * store's migrations and these never collide):
 *
 * - `web_users(username, password_hash, created_at, updated_at)`: argon2id hashes (PHC strings).
 * - `web_sessions(id_hash, username, csrf, created_at, expires_at, last_seen)`: the SHA-256 of
 *   the session cookie, never the cookie itself.
 * - `web_tokens(id, name, token_hash, username, created_at, last_used_at)`: API bearer tokens,
 *   SHA-256 at rest.
 * - `web_audit(id, ts, actor, action, target, detail, ok)`: until version 2, which moved its
 *   entries into the store's one audit trail (`audit`, src/store/audit.ts) and dropped it.
 */
const WEB_MIGRATIONS: readonly { version: number; up: (db: Database) => void }[] = [
  {
    version: 1,
    up(db) {
      db.run(`CREATE TABLE web_users (
        username TEXT PRIMARY KEY NOT NULL,
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      )`);
      db.run(`CREATE TABLE web_sessions (
        id_hash TEXT PRIMARY KEY NOT NULL,
        username TEXT NOT NULL REFERENCES web_users(username) ON DELETE CASCADE,
        csrf TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        last_seen INTEGER NOT NULL
      )`);
      db.run(`CREATE TABLE web_tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        token_hash TEXT NOT NULL UNIQUE,
        username TEXT NOT NULL REFERENCES web_users(username) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER
      )`);
      db.run(`CREATE TABLE web_audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '{}',
        ok INTEGER NOT NULL
      )`);
      db.run("CREATE INDEX web_audit_ts ON web_audit(ts)");
    },
  },
  {
    version: 2,
    up(db) {
      // One audit trail (issue 16): the web UI's entries move to the store's `audit` table
      // (store migration 9, always applied before, at openStore), then `web_audit` goes.
      const store = db
        .query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit'")
        .get();
      if (!store) throw new Error("web tables: open the store first (its audit table is missing)");
      db.run(`INSERT INTO audit (ts, kind, actor, via, source, action, target, result, reason,
                detail, recorded_by)
        SELECT ts,
          CASE WHEN action IN ('login', 'logout') OR action LIKE 'password.%' THEN 'access'
               WHEN action LIKE 'token.%' THEN 'admin'
               WHEN action = 'tag.write' THEN 'write' ELSE 'config' END,
          CASE WHEN actor LIKE 'token:%' THEN
                 'api:' || substr(actor, 7, CASE WHEN instr(actor, '@') > 0 THEN instr(actor, '@') - 7 ELSE length(actor) END)
               ELSE actor END,
          CASE WHEN actor LIKE 'token:%' THEN 'api' ELSE 'web' END,
          '', action, target,
          CASE WHEN ok = 1 THEN 'done'
               WHEN json_extract(detail, '$.reason') = 'outcome_unknown' THEN 'outcome_unknown'
               ELSE 'refused' END,
          json_extract(detail, '$.reason'), detail, 'ne-web'
        FROM web_audit ORDER BY id`);
      db.run("DROP TABLE web_audit");
    },
  },
  {
    version: 3,
    up(db) {
      // Roles (issue 16, src/web/roles.ts). Users and tokens made before had every right:
      // they stay admin (review them: nodi-edge user list, nodi-edge token list).
      db.run("ALTER TABLE web_users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin'");
      db.run("ALTER TABLE web_users ADD COLUMN conns TEXT");
      db.run("ALTER TABLE web_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'admin'");
      db.run("ALTER TABLE web_tokens ADD COLUMN conns TEXT");
    },
  },
];

/** The web schema version this build writes. */
export const WEB_SCHEMA_VERSION = WEB_MIGRATIONS[WEB_MIGRATIONS.length - 1]!.version;

/**
 * Creates or upgrades the `web_*` tables in `db` (each migration in one immediate transaction,
 * re-checking the version inside it, so two processes starting at once do not both migrate).
 * @returns the version reached.
 */
export function migrateWebTables(db: Database): number {
  const current = (): number => {
    db.run(
      "CREATE TABLE IF NOT EXISTS web_schema_version (version INTEGER PRIMARY KEY NOT NULL, applied_at INTEGER NOT NULL)",
    );
    const row = db.query("SELECT MAX(version) AS v FROM web_schema_version").get() as {
      v: number | null;
    };
    return row.v ?? 0;
  };
  for (const m of WEB_MIGRATIONS) {
    if (current() >= m.version) continue;
    db.transaction(() => {
      if (current() >= m.version) return;
      m.up(db);
      db.query("INSERT INTO web_schema_version (version, applied_at) VALUES (?, ?)").run(
        m.version,
        Date.now(),
      );
    }).immediate();
  }
  return current();
}
