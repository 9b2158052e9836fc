import type { Database } from "bun:sqlite";

/**
 * The numbered schema migrations of the source of truth. Migration `n` takes a database at
 * version `n - 1` to version `n`; they are applied in order at open, inside one immediate
 * transaction each, and recorded in `schema_version`. A migration is never edited once
 * released: a change to the schema is a new migration appended here (and, when it adds a
 * column, the matching field in `schema.ts`; `test/store/migrations.test.ts` checks that
 * every schema field has a column).
 */
export interface Migration {
  version: number;
  description: string;
  up(db: Database): void;
}

/** All migrations, in order; the last one's `version` is {@link SCHEMA_VERSION}. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "connections, blocks and tags",
    up(db) {
      db.run(`CREATE TABLE connections (
        conn_id TEXT PRIMARY KEY NOT NULL,
        protocol TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        description TEXT NOT NULL DEFAULT '',
        host TEXT, port INTEGER, unit_id INTEGER,
        serial_device TEXT, baud_rate INTEGER, parity TEXT, data_bits INTEGER, stop_bits INTEGER,
        endpoint_url TEXT, security_mode TEXT, security_policy TEXT, username TEXT, password TEXT,
        timeout_ms INTEGER NOT NULL DEFAULT 1000,
        connect_timeout_ms INTEGER NOT NULL DEFAULT 3000,
        inter_request_delay_ms INTEGER NOT NULL DEFAULT 0,
        max_registers_per_request INTEGER NOT NULL DEFAULT 125,
        max_bits_per_request INTEGER NOT NULL DEFAULT 2000,
        backoff_initial_ms INTEGER NOT NULL DEFAULT 500,
        backoff_max_ms INTEGER NOT NULL DEFAULT 30000,
        memory_max TEXT, cpu_quota TEXT
      )`);
      db.run(`CREATE TABLE blocks (
        conn_id TEXT NOT NULL REFERENCES connections(conn_id) ON DELETE CASCADE,
        block_id TEXT NOT NULL,
        "table" TEXT NOT NULL,
        address INTEGER NOT NULL DEFAULT 0,
        count INTEGER NOT NULL DEFAULT 0,
        period_ms INTEGER, phase_ms INTEGER, mode TEXT,
        enabled INTEGER NOT NULL DEFAULT 1,
        description TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (conn_id, block_id)
      )`);
      db.run(`CREATE TABLE tags (
        conn_id TEXT NOT NULL REFERENCES connections(conn_id) ON DELETE CASCADE,
        tag_name TEXT NOT NULL,
        block_id TEXT NOT NULL,
        address INTEGER NOT NULL DEFAULT 0,
        data_type TEXT NOT NULL,
        bit INTEGER, length INTEGER,
        byte_order TEXT NOT NULL DEFAULT 'ABCD',
        scale REAL NOT NULL DEFAULT 1,
        "offset" REAL NOT NULL DEFAULT 0,
        deadband REAL NOT NULL DEFAULT 0,
        access TEXT NOT NULL DEFAULT 'read',
        unit TEXT NOT NULL DEFAULT '',
        description TEXT NOT NULL DEFAULT '',
        node_id TEXT,
        PRIMARY KEY (conn_id, tag_name),
        FOREIGN KEY (conn_id, block_id) REFERENCES blocks(conn_id, block_id) ON DELETE CASCADE
      )`);
    },
  },
  {
    version: 2,
    description: "OPC UA monitored item settings on tags",
    up(db) {
      db.run("ALTER TABLE tags ADD COLUMN sampling_interval_ms INTEGER");
      db.run("ALTER TABLE tags ADD COLUMN queue_size INTEGER");
    },
  },
  {
    version: 3,
    description: "change journal",
    up(db) {
      db.run(`CREATE TABLE config_journal (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts INTEGER NOT NULL,
        origin TEXT NOT NULL,
        conn_id TEXT NOT NULL,
        change TEXT NOT NULL
      )`);
      db.run("CREATE INDEX config_journal_conn ON config_journal(conn_id, id)");
    },
  },
  {
    version: 4,
    description: "northbounds (northbound-schema.ts)",
    up(db) {
      // Defaults as in NorthboundSchema; the store always writes every column.
      db.run(`CREATE TABLE northbounds (
        north_id TEXT PRIMARY KEY NOT NULL,
        kind TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        description TEXT NOT NULL DEFAULT '',
        broker_urls TEXT NOT NULL,
        client_id TEXT, username TEXT, password TEXT,
        tls_ca_file TEXT, tls_cert_file TEXT, tls_key_file TEXT,
        keepalive_s INTEGER NOT NULL DEFAULT 30,
        gateway TEXT,
        tag_selection TEXT NOT NULL DEFAULT '/**',
        min_interval_ms INTEGER NOT NULL DEFAULT 0,
        refresh_interval_ms INTEGER NOT NULL DEFAULT 0,
        buffer_max_mib REAL NOT NULL DEFAULT 256,
        buffer_max_age_s INTEGER NOT NULL DEFAULT 604800,
        writes_enabled INTEGER NOT NULL DEFAULT 0,
        topic_template TEXT NOT NULL DEFAULT 'nodi-edge/{gateway}/{conn_id}/{tag}',
        qos INTEGER NOT NULL DEFAULT 1,
        retain INTEGER NOT NULL DEFAULT 0,
        payload_layout TEXT NOT NULL DEFAULT 'tag',
        group_id TEXT, edge_node_id TEXT, primary_host_id TEXT,
        memory_max TEXT, cpu_quota TEXT
      )`);
    },
  },
  {
    version: 5,
    description: "address_base on connections (zero- or one-based block and tag addresses)",
    up(db) {
      // NULL on existing rows: withProtocolDefaults reads it as 0, the addressing they had.
      db.run("ALTER TABLE connections ADD COLUMN address_base INTEGER");
    },
  },
  {
    version: 6,
    description: "devices on a link (issue 14): devices table, blocks.device, auto-demotion",
    up(db) {
      db.run(`CREATE TABLE devices (
        conn_id TEXT NOT NULL REFERENCES connections(conn_id) ON DELETE CASCADE,
        device TEXT NOT NULL,
        unit_id INTEGER NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (conn_id, device)
      )`);
      // NULL: the connection's default device (its unit_id), what every existing block is.
      db.run("ALTER TABLE blocks ADD COLUMN device TEXT");
      db.run("ALTER TABLE connections ADD COLUMN demote_after_timeouts INTEGER NOT NULL DEFAULT 3");
      db.run("ALTER TABLE connections ADD COLUMN demote_for_ms INTEGER NOT NULL DEFAULT 10000");
    },
  },
  {
    version: 7,
    description:
      "automatic blocks (issue 14): auto tags (tags.block_id nullable, tags.table, tags.scan_ms), connections.max_gap_registers/bits",
    up(db) {
      // SQLite cannot drop a NOT NULL: rebuild tags (rowid kept: tags are read in rowid order).
      // A NULL block_id satisfies the foreign key (SQLite: a child key with a NULL is not checked).
      const cols = `conn_id, tag_name, block_id, address, data_type, bit, length, byte_order,
        scale, "offset", deadband, access, unit, description, node_id, sampling_interval_ms, queue_size`;
      db.run(`CREATE TABLE tags_v7 (
        conn_id TEXT NOT NULL REFERENCES connections(conn_id) ON DELETE CASCADE,
        tag_name TEXT NOT NULL,
        block_id TEXT,
        "table" TEXT,
        scan_ms INTEGER,
        address INTEGER NOT NULL DEFAULT 0,
        data_type TEXT NOT NULL,
        bit INTEGER, length INTEGER,
        byte_order TEXT NOT NULL DEFAULT 'ABCD',
        scale REAL NOT NULL DEFAULT 1,
        "offset" REAL NOT NULL DEFAULT 0,
        deadband REAL NOT NULL DEFAULT 0,
        access TEXT NOT NULL DEFAULT 'read',
        unit TEXT NOT NULL DEFAULT '',
        description TEXT NOT NULL DEFAULT '',
        node_id TEXT,
        sampling_interval_ms INTEGER,
        queue_size INTEGER,
        PRIMARY KEY (conn_id, tag_name),
        FOREIGN KEY (conn_id, block_id) REFERENCES blocks(conn_id, block_id) ON DELETE CASCADE
      )`);
      db.run(`INSERT INTO tags_v7 (rowid, ${cols}) SELECT rowid, ${cols} FROM tags`);
      db.run("DROP TABLE tags");
      db.run("ALTER TABLE tags_v7 RENAME TO tags");
      db.run("ALTER TABLE connections ADD COLUMN max_gap_registers INTEGER NOT NULL DEFAULT 4");
      db.run("ALTER TABLE connections ADD COLUMN max_gap_bits INTEGER NOT NULL DEFAULT 16");
    },
  },
  {
    version: 8,
    description:
      "device profiles (issue 14): profiles, profile_blocks, profile_tags, devices.profile",
    up(db) {
      db.run(`CREATE TABLE profiles (
        profile TEXT PRIMARY KEY NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        address_base INTEGER NOT NULL DEFAULT 0
      )`);
      db.run(`CREATE TABLE profile_blocks (
        profile TEXT NOT NULL REFERENCES profiles(profile) ON DELETE CASCADE,
        block_id TEXT NOT NULL,
        "table" TEXT NOT NULL,
        address INTEGER NOT NULL DEFAULT 0,
        count INTEGER NOT NULL DEFAULT 0,
        period_ms INTEGER, phase_ms INTEGER, mode TEXT,
        enabled INTEGER NOT NULL DEFAULT 1,
        description TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (profile, block_id)
      )`);
      // No foreign key to profile_blocks: a tag may be an auto tag (no block); the validation
      // checks the block of the others (validate-profiles.ts).
      db.run(`CREATE TABLE profile_tags (
        profile TEXT NOT NULL REFERENCES profiles(profile) ON DELETE CASCADE,
        tag_name TEXT NOT NULL,
        block_id TEXT,
        "table" TEXT,
        scan_ms INTEGER,
        address INTEGER NOT NULL DEFAULT 0,
        data_type TEXT NOT NULL,
        bit INTEGER, length INTEGER,
        byte_order TEXT NOT NULL DEFAULT 'ABCD',
        scale REAL NOT NULL DEFAULT 1,
        "offset" REAL NOT NULL DEFAULT 0,
        deadband REAL NOT NULL DEFAULT 0,
        access TEXT NOT NULL DEFAULT 'read',
        unit TEXT NOT NULL DEFAULT '',
        description TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (profile, tag_name)
      )`);
      // NULL: a device with its own blocks, what every existing device is.
      db.run("ALTER TABLE devices ADD COLUMN profile TEXT");
    },
  },
  {
    version: 9,
    description: "one audit trail of writes, configuration changes and access (issue 16); settings",
    up(db) {
      // audit.ts documents every column. `kind` decides retention and the cap (a flood of
      // failed logins only pushes out older access entries, never writes or changes).
      db.run(`CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts INTEGER NOT NULL,
        kind TEXT NOT NULL,
        actor TEXT NOT NULL,
        via TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT '',
        label TEXT,
        action TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        value TEXT,
        previous TEXT,
        result TEXT NOT NULL,
        reason TEXT,
        detail TEXT NOT NULL DEFAULT '{}',
        request_id TEXT,
        recorded_by TEXT NOT NULL
      )`);
      db.run("CREATE INDEX audit_kind ON audit(kind, id)");
      db.run("CREATE INDEX audit_ts ON audit(ts)");
      db.run("CREATE INDEX audit_target ON audit(target)");
      db.run(`CREATE TABLE settings (
        key TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        updated_by TEXT NOT NULL
      )`);
    },
  },
  {
    version: 10,
    description: "array tags (issue 14): tags.array_length, profile_tags.array_length",
    up(db) {
      db.run("ALTER TABLE tags ADD COLUMN array_length INTEGER");
      db.run("ALTER TABLE profile_tags ADD COLUMN array_length INTEGER");
    },
  },
];

/** The schema version this build writes and understands. */
export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Creates the version table when missing. */
export function ensureVersionTable(db: Database): void {
  db.run(`CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY NOT NULL,
    applied_at INTEGER NOT NULL,
    description TEXT NOT NULL
  )`);
}

/** The highest recorded version, 0 for an empty database. */
export function currentVersion(db: Database): number {
  const exists = db
    .query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'")
    .get();
  if (!exists) return 0;
  const row = db.query("SELECT MAX(version) AS v FROM schema_version").get() as {
    v: number | null;
  };
  return row.v ?? 0;
}

/**
 * Applies the migrations after the current version up to `target` (default: all), each in
 * its own `BEGIN IMMEDIATE` transaction, re-reading the version inside it so that two
 * processes opening the same new file do not both migrate.
 * @returns the version reached.
 */
export function migrate(db: Database, target: number = SCHEMA_VERSION): number {
  for (const m of MIGRATIONS) {
    if (m.version > target) break;
    if (currentVersion(db) >= m.version) continue;
    db.transaction(() => {
      ensureVersionTable(db);
      if (currentVersion(db) >= m.version) return;
      m.up(db);
      db.query(
        "INSERT INTO schema_version (version, applied_at, description) VALUES (?, ?, ?)",
      ).run(m.version, Date.now(), m.description);
    }).immediate();
  }
  return currentVersion(db);
}
