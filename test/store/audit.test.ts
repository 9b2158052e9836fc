import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { AuditTrail } from "../../src/store/audit.ts";
import { migrate } from "../../src/store/migrations.ts";
import { checkSetting, getSetting, setSetting } from "../../src/store/settings.ts";
import { openStore } from "../../src/store/store.ts";
import { recordWebIn } from "../../src/web/audit.ts";
import { migrateWebTables } from "../../src/web/web-db.ts";
import { tempDir } from "../support/tmp.ts";
import { modbusConfig } from "./helpers.ts";

function db(): Database {
  const d = new Database(":memory:");
  migrate(d);
  return d;
}

const alice = { via: "web" as const, who: "alice", from: "10.0.0.5" };

test("a flood of 10,000 failed logins keeps the last 100 real writes in the trail", () => {
  const d = db();
  const trail = new AuditTrail(d, "test");
  for (let i = 0; i < 100; i++) {
    trail.record({
      kind: "write",
      identity: alice,
      action: "tag.write",
      target: "/plc1/sp",
      value: i,
      previous: i - 1,
      result: "done",
    });
  }
  // what POST /api/login records for a wrong password, each for a fresh user name
  d.transaction(() => {
    for (let i = 0; i < 10_000; i++) {
      recordWebIn(
        trail,
        { via: "web", who: `guess${i}`, from: "10.0.0.66" },
        { action: "login", ok: false, reason: "bad_credentials" },
      );
    }
  })();
  trail.prune();
  const writes = trail.list({ kind: "write", limit: 1000 });
  expect(writes.length).toBe(100);
  expect(writes[0]).toMatchObject({ actor: "web:alice", value: 99, previous: 98, result: "done" });
  expect(writes[99]?.value).toBe(0);
  const access = trail.list({ kind: "access", limit: 10_000 });
  expect(access.length).toBe(getSetting(d, "audit.access.max_entries"));
  expect(access[0]).toMatchObject({ actor: "web:guess9999", result: "refused" });
});

test("each kind is pruned by its own retention and cap", () => {
  const d = db();
  let now = Date.UTC(2026, 0, 1);
  const trail = new AuditTrail(d, "test", () => now);
  setSetting(d, "audit.access.retention_days", 1, "test");
  setSetting(d, "audit.config.max_entries", 100, "test");
  trail.record({ kind: "access", identity: alice, action: "login", result: "done" });
  trail.record({ kind: "write", identity: alice, action: "tag.write", result: "done" });
  for (let i = 0; i < 150; i++)
    trail.record({ kind: "config", identity: alice, action: `c${i}`, result: "done" });
  now += 2 * 86_400_000;
  trail.prune();
  expect(trail.list({ kind: "access" })).toEqual([]);
  expect(trail.list({ kind: "write" }).length).toBe(1);
  const config = trail.list({ kind: "config", limit: 1000 });
  expect(config.length).toBe(100);
  expect(config.at(-1)?.action).toBe("c50");
});

test("filters: who (actor or name), target with the tags of a connection, result, since", () => {
  const d = db();
  let now = 1000;
  const trail = new AuditTrail(d, "test", () => now);
  const rec = (who: string, via: "web" | "cli", target: string, result: "done" | "refused") => {
    now += 10;
    trail.record({ kind: "write", identity: { via, who }, action: "tag.write", target, result });
  };
  rec("alice", "web", "/plc1/sp", "done");
  rec("root", "cli", "/plc1/sp", "refused");
  rec("alice", "web", "/plc10/sp", "done");
  expect(trail.list({ who: "alice" }).map((e) => e.target)).toEqual(["/plc10/sp", "/plc1/sp"]);
  expect(trail.list({ who: "cli:root" }).length).toBe(1);
  expect(trail.list({ target: "plc1" }).length).toBe(2);
  expect(trail.list({ target: "/plc1/sp", result: "refused" })[0]?.actor).toBe("cli:root");
  expect(trail.list({ since: 1025 }).map((e) => e.target)).toEqual(["/plc10/sp"]);
});

test("a long value is cut in the entry, with its length", () => {
  const trail = new AuditTrail(db(), "test");
  trail.record({
    kind: "write",
    identity: alice,
    action: "tag.write",
    value: "x".repeat(5000),
    result: "done",
  });
  expect(trail.list()[0]?.value).toMatchObject({ length: 5002 });
});

test("a committed configuration change is audited in its own transaction; a refused one is not", () => {
  const dir = tempDir();
  const store = openStore(`${dir.path}/ne.db`);
  try {
    store.apply({
      origin: "cli:conn",
      put: [modbusConfig("plc1")],
      audit: {
        identity: { via: "cli", who: "root", from: "uid 0 pid 1" },
        action: "connection.put",
        recordedBy: "nodi-edge",
      },
    });
    expect(() =>
      store.apply({
        origin: "cli:conn",
        put: [modbusConfig("plc2", { port: -1 })],
        audit: { identity: { via: "cli", who: "root" }, action: "connection.put" },
      }),
    ).toThrow();
    store.apply({ origin: "cli:conn", put: [modbusConfig("plc3")], dryRun: true });
    const all = new AuditTrail(store.db, "t").list();
    expect(all.length).toBe(1);
    expect(all[0]).toMatchObject({
      kind: "config",
      actor: "cli:root",
      source: "uid 0 pid 1",
      action: "connection.put",
      target: "plc1",
      result: "done",
      recorded_by: "nodi-edge",
      detail: { changes: [{ conn_id: "plc1", kind: "added" }] },
    });
  } finally {
    store.close();
    dir.cleanup();
  }
});

test("settings: defaults, checked values, unknown keys", () => {
  const d = db();
  expect(getSetting(d, "audit.write.retention_days")).toBe(365);
  expect(() => checkSetting("audit.write.retention_days", "0")).toThrow(
    /audit.write.retention_days: expected an integer from 1 to 36500 days, got "0"/,
  );
  expect(() => checkSetting("audit.write.retention_days", "1.5")).toThrow(/integer/);
  expect(() => checkSetting("nope", 1)).toThrow(/no setting "nope"; known: audit\./);
  expect(setSetting(d, "audit.write.retention_days", 30, "t")).toBe(365);
  expect(getSetting(d, "audit.write.retention_days")).toBe(30);
});

test("web tables version 2 moves the old web_audit entries into the one trail", () => {
  const d = db();
  d.run(
    `CREATE TABLE web_schema_version (version INTEGER PRIMARY KEY NOT NULL, applied_at INTEGER NOT NULL)`,
  );
  d.run(`CREATE TABLE web_users (username TEXT PRIMARY KEY NOT NULL, password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)`);
  d.run(`CREATE TABLE web_sessions (id_hash TEXT PRIMARY KEY NOT NULL, username TEXT NOT NULL,
    csrf TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, last_seen INTEGER NOT NULL)`);
  d.run(`CREATE TABLE web_tokens (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE, username TEXT NOT NULL, created_at INTEGER NOT NULL, last_used_at INTEGER)`);
  d.run(`CREATE TABLE web_audit (id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL,
    actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}', ok INTEGER NOT NULL)`);
  d.run("INSERT INTO web_schema_version VALUES (1, 0)");
  d.run(`INSERT INTO web_audit (ts, actor, action, target, detail, ok) VALUES
    (1, 'web:mallory', 'login', '', '{}', 0),
    (2, 'token:deploy@admin', 'tag.write', '/p/sp', '{"value":1,"reason":"outcome_unknown"}', 0),
    (3, 'web:admin', 'connection.add', 'p', '{}', 1)`);
  migrateWebTables(d);
  const e = new AuditTrail(d, "t").list();
  expect(e.map((x) => [x.kind, x.actor, x.via, x.action, x.result])).toEqual([
    ["config", "web:admin", "web", "connection.add", "done"],
    ["write", "api:deploy", "api", "tag.write", "outcome_unknown"],
    ["access", "web:mallory", "web", "login", "refused"],
  ]);
  expect(d.query("SELECT 1 FROM sqlite_master WHERE name = 'web_audit'").get()).toBeNull();
});
