import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { AuditTrail } from "../../src/store/audit.ts";
import { migrate } from "../../src/store/migrations.ts";
import { diffFields } from "../../src/web/api/config.ts";
import { coerceWriteValue } from "../../src/web/api/live.ts";
import { Auth, SESSION_IDLE_MS } from "../../src/web/auth.ts";
import { Router } from "../../src/web/router.ts";
import { migrateWebTables, WEB_SCHEMA_VERSION } from "../../src/web/web-db.ts";

function db(): Database {
  const d = new Database(":memory:");
  d.run("PRAGMA foreign_keys = ON");
  migrate(d); // the store's tables (the audit trail) first, as openStore does
  migrateWebTables(d);
  return d;
}

test("the web tables migrate once and record their own version", () => {
  const d = db();
  expect(migrateWebTables(d)).toBe(WEB_SCHEMA_VERSION);
  const tables = (
    d.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
      name: string;
    }[]
  ).map((r) => r.name);
  expect(tables.filter((n) => n.startsWith("web_"))).toEqual([
    "web_schema_version",
    "web_sessions",
    "web_tokens",
    "web_users",
  ]);
});

test("router: params, 404 and 405", () => {
  const r = new Router<void>();
  const h = () => new Response("x");
  r.on("GET", "/api/connections/:id/tags/:tag", h);
  const m = r.match("GET", "/api/connections/mtc-01/tags/line1.speed");
  expect(m && m !== "method" ? m.params : undefined).toEqual({ id: "mtc-01", tag: "line1.speed" });
  expect(r.match("POST", "/api/connections/mtc-01/tags/x")).toBe("method");
  expect(r.match("GET", "/api/connections/mtc-01")).toBeUndefined();
  expect(r.match("GET", "/api/connections//tags/x")).toBeUndefined();
});

test("sessions end after the idle time and when the password changes", async () => {
  let now = 1_000_000;
  const auth = new Auth(db(), () => now);
  await auth.setPassword("ann", "ann's password");
  expect(await auth.verifyPassword("ann", "ann's password")).toBe(true);
  expect(await auth.verifyPassword("ann", "wrong")).toBe(false);
  expect(await auth.verifyPassword("nobody", "ann's password")).toBe(false);
  const s = auth.createSession("ann");
  expect(auth.sessionPrincipal(s.sessionId)?.csrf).toBe(s.csrf);
  now += SESSION_IDLE_MS + 1;
  expect(auth.sessionPrincipal(s.sessionId)).toBeUndefined();
  const s2 = auth.createSession("ann");
  await auth.setPassword("ann", "a new password");
  expect(auth.sessionPrincipal(s2.sessionId)).toBeUndefined();
  await expect(auth.setPassword("ann", "short")).rejects.toThrow(/at least 8/);
  await expect(auth.setPassword("bad name", "long enough")).rejects.toThrow(/username/);
});

test("tokens: shown once, hashed at rest, unique names, revocable", () => {
  const d = db();
  const auth = new Auth(d);
  d.run(
    "INSERT INTO web_users (username, password_hash, created_at, updated_at, role) VALUES ('ann', 'x', 0, 0, 'engineer')",
  );
  const t = auth.createToken("ann", "hist");
  expect(auth.tokenPrincipal(t)).toEqual({
    username: "ann",
    via: "token",
    tokenName: "hist",
    role: "engineer",
    conns: null,
  });
  expect(JSON.stringify(d.query("SELECT * FROM web_tokens").all())).not.toContain(t);
  expect(() => auth.createToken("ann", "hist")).toThrow(/exists/);
  expect(auth.revokeToken("hist")).toBe(true);
  expect(auth.tokenPrincipal(t)).toBeUndefined();
});

test("audit: newest first, filtered by target and the paths below it, pruned to a bound", () => {
  const d = db();
  d.run(
    "INSERT INTO settings (key, value, updated_at, updated_by) VALUES ('audit.config.max_entries', '100', 0, 't')",
  );
  const log = new AuditTrail(d, "test", () => 5);
  for (let i = 0; i < 97; i++) {
    log.record({
      kind: "config",
      identity: { via: "web", who: "ann" },
      action: "x",
      result: "done",
    });
  }
  for (const target of ["m1", "/m1/speed", "m10", "m2", "m1/hr"]) {
    log.record({
      kind: "config",
      identity: { via: "web", who: "ann" },
      action: "x",
      target,
      detail: { target },
      result: "done",
    });
  }
  expect(log.list({ target: "m1" }).map((e) => e.target)).toEqual(["m1/hr", "/m1/speed", "m1"]);
  log.prune();
  expect(log.list({ limit: 1000 }).length).toBe(100);
  expect(
    log
      .list()
      .slice(0, 3)
      .map((e) => e.target),
  ).toEqual(["m1/hr", "m2", "m10"]);
  expect(log.list()[0]).toMatchObject({
    ts: 5,
    actor: "web:ann",
    ok: true,
    detail: { target: "m1/hr" },
  });
});

test("write values are converted to the tag's data type or refused", () => {
  const tag = (data_type: string) =>
    ({ tag_name: "t", data_type }) as Parameters<typeof coerceWriteValue>[0];
  expect(coerceWriteValue(tag("bool"), 1)).toBe(true);
  expect(coerceWriteValue(tag("bit"), "false")).toBe(false);
  expect(coerceWriteValue(tag("uint16"), "42")).toBe(42);
  expect(coerceWriteValue(tag("float32"), 1.5)).toBe(1.5);
  expect(coerceWriteValue(tag("int64"), "-9007199254740993")).toBe("-9007199254740993");
  expect(coerceWriteValue(tag("string"), "abc")).toBe("abc");
  expect(() => coerceWriteValue(tag("uint16"), "fast")).toThrow(
    /tag t \(uint16\): value "fast" refused: expected a number/,
  );
  expect(() => coerceWriteValue(tag("bool"), 2)).toThrow(
    /tag t \(bool\): value 2 refused: expected a boolean/,
  );
  expect(() => coerceWriteValue(tag("string"), 5)).toThrow();
});

test("audit diffs list changed fields and mask passwords", () => {
  expect(
    diffFields({ port: 502, password: "a", host: "h" }, { port: 503, password: "b", host: "h" }),
  ).toEqual({
    port: [502, 503],
    password: ["***", "***"],
  });
});
