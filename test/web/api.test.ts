import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TagValue } from "../../src/core/tag-value.ts";
import type { RedisTagBus } from "../../src/tagbus/index.ts";
import { Client, modbusConn, startWebFixture, until, type WebFixture } from "./helpers.ts";

let fx: WebFixture;
let c: Client;
let observer: RedisTagBus;
const seen: TagValue[] = [];

beforeAll(async () => {
  fx = await startWebFixture();
  c = new Client(fx.web.url);
  observer = await fx.otherBus("observer");
  await observer.subscribe(["/system/**"], (e) => {
    if (e.kind === "value") seen.push(e.value);
  });
});

afterAll(async () => {
  await fx?.close();
});

const sawSystemTag = (path: string, value?: unknown) =>
  until(`${path}=${String(value)}`, () =>
    seen.find((v) => v.path === path && (value === undefined || v.value === value)),
  );

describe("authentication", () => {
  test("the API refuses requests without a session or token", async () => {
    const r = await new Client(fx.web.url).call("GET", "/api/connections");
    expect(r.status).toBe(401);
    expect(r.body.error.reason).toBe("unauthenticated");
  });

  test("the page and its script are served without login, with a strict CSP", async () => {
    const page = await fetch(`${fx.web.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="/app.js">');
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    const js = await fetch(`${fx.web.url}/app.js`);
    expect(js.headers.get("content-type")).toContain("javascript");
  });

  test("a wrong password is refused and audited", async () => {
    const r = await new Client(fx.web.url).login("admin", "wrong password");
    expect(r.status).toBe(401);
    expect(fx.web.app.audit.list().some((e) => e.action === "login" && !e.ok)).toBe(true);
  });

  test("login sets an HttpOnly SameSite=Strict cookie and returns a CSRF token", async () => {
    const r = await c.login("admin", "correct horse");
    expect(r.status).toBe(200);
    const cookie = r.headers.get("set-cookie") ?? "";
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect(c.csrf.length).toBeGreaterThan(20);
    const s = await c.call("GET", "/api/session");
    expect(s.body.username).toBe("admin");
  });

  test("the password is stored as an argon2id hash", () => {
    const row = fx.store.db
      .query("SELECT password_hash FROM web_users WHERE username = 'admin'")
      .get() as {
      password_hash: string;
    };
    expect(row.password_hash.startsWith("$argon2id$")).toBe(true);
  });

  test("a state change without the CSRF header, or from another origin, is refused", async () => {
    const noCsrf = await c.call("POST", "/api/connections", modbusConn("x1"), {
      "x-csrf-token": "",
    });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body.error.reason).toBe("csrf");
    const cross = await c.call("POST", "/api/connections", modbusConn("x1"), {
      origin: "http://evil.example",
    });
    expect(cross.status).toBe(403);
    expect(cross.body.error.reason).toBe("cross_origin");
    expect(fx.store.getConnection("x1")).toBeUndefined();
  });
});

describe("configuration", () => {
  test("the schema tells the form which protocols each connection field belongs to", async () => {
    const r = await c.call("GET", "/api/schema");
    expect(r.status).toBe(200);
    expect(r.body.fields.connection.map((f: { name: string }) => f.name)).toContain("host");
    expect(r.body.protocolFields.host).toEqual(["modbus-tcp", "modbus-rtu-tcp"]);
    expect(r.body.protocolFields.endpoint_url).toEqual(["opcua"]);
    expect(r.body.protocolFields.max_registers_per_request).not.toContain("opcua");
    // the form's address base: a 0/1 choice, Modbus only
    const base = r.body.fields.connection.find((f: { name: string }) => f.name === "address_base");
    expect(base).toMatchObject({ kind: "number", options: [0, 1], nullable: true });
    expect(r.body.protocolFields.address_base).toEqual([
      "modbus-tcp",
      "modbus-rtu-tcp",
      "modbus-rtu",
    ]);
  });

  test("adding a connection writes the SoT, then announces conn_added, and is audited", async () => {
    const r = await c.call("POST", "/api/connections", modbusConn("plc-1"));
    expect(r.status).toBe(201);
    expect(r.body.changes).toEqual([{ conn_id: "plc-1", kind: "added", stored: "created" }]);
    expect(fx.store.getConnection("plc-1")?.host).toBe("127.0.0.1");
    await sawSystemTag("/system/supervisor/conn_added", "plc-1");
    const audit = fx.web.app.audit.list({ target: "plc-1" });
    expect(audit[0]).toMatchObject({ actor: "web:admin", action: "connection.add", ok: true });
    const dup = await c.call("POST", "/api/connections", modbusConn("plc-1"));
    expect(dup.status).toBe(409);
  });

  test("a bad connection is refused with issues naming the field and rule; nothing is written", async () => {
    const r = await c.call("POST", "/api/connections", { ...modbusConn("plc-bad"), port: 70000 });
    expect(r.status).toBe(400);
    const issue = r.body.error.issues.find((i: { field: string }) => i.field === "port");
    expect(issue).toMatchObject({ entity: "connection", field: "port" });
    expect(issue.message).toMatch(/65535/);
    expect(fx.store.getConnection("plc-bad")).toBeUndefined();
  });

  test("blocks and tags: add, edit (hot reload announced), bad edit located by field", async () => {
    const b = await c.call("PUT", "/api/connections/plc-1/blocks/hr", {
      table: "holding_registers",
      address: 0,
      count: 10,
      period_ms: 200,
    });
    expect(b.status).toBe(200);
    const t = await c.call("PUT", "/api/connections/plc-1/tags/speed", {
      block_id: "hr",
      address: 1,
      data_type: "uint16",
      access: "read-write",
      unit: "rpm",
    });
    expect(t.status).toBe(200);
    expect(t.body.changes[0].kind).toBe("blocks_changed");
    const before = seen.filter((v) => v.path === "/system/plc-1/config_reload").length;
    const edit = await c.call("PUT", "/api/connections/plc-1/blocks/hr", { period_ms: 500 });
    expect(edit.status).toBe(200);
    expect(fx.store.getBlocks("plc-1")[0]?.period_ms).toBe(500);
    await until(
      "a config_reload",
      () => seen.filter((v) => v.path === "/system/plc-1/config_reload").length > before,
    );

    const bad = await c.call("PUT", "/api/connections/plc-1/tags/speed", { data_type: "int17" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues[0]).toMatchObject({
      entity: "tag",
      key: "plc-1/speed",
      field: "data_type",
    });
    expect(fx.store.getTags("plc-1")[0]?.data_type).toBe("uint16");

    const dry = await c.call("PUT", "/api/connections/plc-1/blocks/hr?dry_run=1", { count: 20 });
    expect(dry.body.dry_run).toBe(true);
    expect(fx.store.getBlocks("plc-1")[0]?.count).toBe(10);
  });

  test("editing the connection's address is a restart change; disable/enable are remove/add", async () => {
    const r = await c.call("PUT", "/api/connections/plc-1", { port: 1503 });
    expect(r.body.changes[0].kind).toBe("connection_changed");
    const d = await c.call("POST", "/api/connections/plc-1/disable");
    expect(d.body.changes[0].kind).toBe("removed");
    await sawSystemTag("/system/supervisor/conn_removed", "plc-1");
    const e = await c.call("POST", "/api/connections/plc-1/enable");
    expect(e.body.changes[0].kind).toBe("added");
    const list = await c.call("GET", "/api/connections");
    expect(list.body.connections.map((x: { conn_id: string }) => x.conn_id)).toEqual(["plc-1"]);
    expect(list.body.connections[0]).toMatchObject({ block_count: 1, tag_count: 1, enabled: true });
  });
});

describe("live values, writes, diagnostics", () => {
  let app: RedisTagBus;
  beforeAll(async () => {
    app = await fx.otherBus("plc-1");
  });

  test("values are listed and streamed by SSE, filtered on the server", async () => {
    await c.call("PUT", "/api/connections/plc-1/tags/temp", {
      block_id: "hr",
      address: 2,
      data_type: "int16",
    });
    const res = await fetch(`${fx.web.url}/api/connections/plc-1/stream?tags=speed`, {
      headers: { cookie: c.cookie },
    });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let text = "";
    const got = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += dec.decode(value);
        if (text.includes('"value":1234')) return;
      }
    })();
    // Publish until the stream shows it (the subscription starts asynchronously).
    await until("the streamed value", async () => {
      await app.publish([
        { path: "/plc-1/temp", value: 99, quality: "good", ts: Date.now() },
        { path: "/plc-1/speed", value: 1234, quality: "good", ts: Date.now() },
      ]);
      return await Promise.race([got.then(() => true), Bun.sleep(300).then(() => false)]);
    });
    await reader.cancel();
    expect(text).toContain("event: values");
    expect(text).not.toContain('"/plc-1/temp"');
    const list = await c.call("GET", "/api/connections/plc-1/values");
    expect(list.body.values.find((v: { tag: string }) => v.tag === "speed")).toMatchObject({
      value: 1234,
      quality: "good",
    });
    const trend = await c.call("GET", "/api/connections/plc-1/trend?tag=speed&minutes=5");
    expect(trend.body.points.some((p: { value: number }) => p.value === 1234)).toBe(true);
  });

  test("a write reaches the owning app and returns its result; failures carry the reason", async () => {
    const identities: unknown[] = [];
    const sub = await app.serveWrites("plc-1", async (req) =>
      identities.push(req.identity) && req.value === 13
        ? { ok: false, reason: "ILLEGAL_DATA_VALUE", message: "exception 3" }
        : req.value === 14
          ? {
              ok: false,
              reason: "outcome_unknown",
              message:
                "no reply from unit 1 within 1000 ms; the device may have applied it; read back before retrying",
            }
          : { ok: true },
    );
    const ok = await c.call("POST", "/api/connections/plc-1/tags/speed/write", { value: 42 });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ ok: true, value: 42 });
    const bad = await c.call("POST", "/api/connections/plc-1/tags/speed/write", { value: 13 });
    expect(bad.status).toBe(502);
    expect(bad.body).toMatchObject({ ok: false, reason: "ILLEGAL_DATA_VALUE" });
    const unknown = await c.call("POST", "/api/connections/plc-1/tags/speed/write", { value: 14 });
    expect(unknown.status).toBe(504);
    expect(unknown.body).toMatchObject({
      ok: false,
      reason: "outcome_unknown",
      message: expect.stringContaining("the device may have applied it; read back before retrying"),
    });
    const ro = await c.call("POST", "/api/connections/plc-1/tags/temp/write", { value: 1 });
    expect(ro.status).toBe(403);
    const nan = await c.call("POST", "/api/connections/plc-1/tags/speed/write", { value: "fast" });
    expect(nan.status).toBe(400);
    await sub.close();
    const writes = fx.web.app.audit
      .list({ target: "/plc-1/speed" })
      .filter((e) => e.action === "tag.write");
    // what the app answered, the app records (this stand-in does not); the web UI records what
    // it refused before sending
    expect(writes.map((e) => [e.result, e.reason])).toEqual([["refused", "out_of_range"]]);
    expect(identities[0]).toMatchObject({ via: "web", who: "admin" });
  });

  test("diagnostics show state, health and the app's recent errors", async () => {
    const now = Date.now();
    const health = {
      v: 1,
      appId: "plc-1",
      pid: 1,
      state: "EXECUTE",
      stateReason: "",
      startedAt: now - 1000,
      lastGoodPoll: now,
      counters: {
        reads: 10,
        readErrors: 1,
        writes: 0,
        writeErrors: 0,
        reconnects: 0,
        connectFailures: 0,
        reloads: 0,
        reloadsRefused: 0,
        samplesPublished: 10,
      },
      blocks: {
        hr: {
          mode: "poll",
          timer: { overruns: 0 },
          consecutiveErrors: 0,
          lastGood: now,
          lastErrorReason: null,
        },
      },
      bus: { published: 10, outboxLength: 0, outboxDropped: 0, connected: true },
    };
    const lastError = {
      at: now,
      kind: "timeout",
      reason: "timeout",
      message: "no reply in 1000 ms",
      where: "block:hr",
    };
    await c.call("GET", "/api/connections/plc-1/diagnostics"); // starts recording errors
    await app.publish([
      { path: "/system/plc-1/state", value: "EXECUTE", quality: "good", ts: now },
      { path: "/system/plc-1/health", value: JSON.stringify(health), quality: "good", ts: now },
      {
        path: "/system/plc-1/last_error",
        value: JSON.stringify(lastError),
        quality: "good",
        reason: "timeout",
        ts: now,
      },
    ]);
    const d = await until("diagnostics", async () => {
      const r = await c.call("GET", "/api/connections/plc-1/diagnostics");
      return r.body.status.health && r.body.logs.lines.length > 0 ? r.body : undefined;
    });
    expect(d.status).toMatchObject({ state: "EXECUTE", last_good_poll: now, error_total: 1 });
    expect(d.status.health.blocks.hr.timer.overruns).toBe(0);
    expect(d.status.last_error.where).toBe("block:hr");
    expect(d.logs.source).toBe("errors");
    expect(d.logs.lines[0].msg).toContain("no reply in 1000 ms");
    expect(d.journal.length).toBeGreaterThan(0);
    const list = await c.call("GET", "/api/connections");
    expect(list.body.connections[0].status).toMatchObject({ state: "EXECUTE", error_total: 1 });
  });

  test("without journald, diagnostics show the recentLogs of the app's health tag", async () => {
    const now = Date.now();
    const recentLogs = [
      { ts: now - 2000, level: "info", msg: "state CONNECT → EXECUTE (connected)" },
      { ts: now - 1000, level: "error", msg: "block hr: no reply in 1000 ms" },
    ];
    const health = {
      v: 1,
      appId: "plc-1",
      pid: 2,
      state: "EXECUTE",
      stateReason: "",
      startedAt: now - 5000,
      lastGoodPoll: now,
      counters: { reads: 1, readErrors: 1 },
      blocks: {},
      bus: { published: 1, outboxLength: 0, outboxDropped: 0, connected: true },
      recentLogs,
    };
    await app.publish([
      { path: "/system/plc-1/health", value: JSON.stringify(health), quality: "good", ts: now },
    ]);
    const d = await until("health log lines", async () => {
      const r = await c.call("GET", "/api/connections/plc-1/diagnostics?lines=10");
      return r.body.logs.source === "health" ? r.body : undefined;
    });
    expect(d.logs.lines).toEqual(recentLogs);
    const one = await c.call("GET", "/api/connections/plc-1/diagnostics?lines=1");
    expect(one.body.logs.lines).toEqual([recentLogs[1]]);
  });
});

describe("CSV import and export", () => {
  test("a bad CSV is refused with errors by file, line and column; nothing changes", async () => {
    const before = JSON.stringify(fx.store.getAllConfigs());
    const fd = new FormData();
    fd.append(
      "connections.csv",
      new File(
        ["conn_id,protocol,host,port,unit_id\nplc-2,modbus-tcp,127.0.0.1,502,1\n"],
        "connections.csv",
      ),
    );
    fd.append(
      "blocks.csv",
      new File(
        ["conn_id,block_id,table,address,count,period_ms\nplc-2,b1,holding_regs,0,10,100\n"],
        "blocks.csv",
      ),
    );
    const r = await c.call("POST", "/api/import", fd);
    expect(r.status).toBe(400);
    const e = r.body.error.errors[0];
    expect(e).toMatchObject({ file: "blocks.csv", line: 2, field: "table" });
    expect(e.column).toBe(3);
    expect(JSON.stringify(fx.store.getAllConfigs())).toBe(before);
    expect(fx.web.app.audit.list().find((x) => x.action === "csv.import")?.ok).toBe(false);
  });

  test("a good CSV imports all or nothing and announces the new connection", async () => {
    const r = await c.call("POST", "/api/import", {
      files: [
        {
          name: "connections.csv",
          text: "conn_id,protocol,host,port,unit_id\nplc-2,modbus-tcp,127.0.0.1,502,1\n",
        },
        {
          name: "blocks.csv",
          text: "conn_id,block_id,table,address,count,period_ms\nplc-2,b1,coils,0,8,100\n",
        },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body.counts).toEqual({
      connections: 1,
      devices: 0,
      blocks: 1,
      tags: 0,
      northbounds: 0,
    });
    await sawSystemTag("/system/supervisor/conn_added", "plc-2");
    const csv = await c.call("GET", "/api/export?file=blocks&conn=plc-2");
    expect(csv.res.headers.get("content-type")).toContain("text/csv");
    expect(csv.body).toContain("plc-2,b1,coils,0,8,100");
  });

  test("removing a connection announces conn_removed", async () => {
    const r = await c.call("DELETE", "/api/connections/plc-2");
    expect(r.body.changes[0].kind).toBe("removed");
    expect(fx.store.getConnection("plc-2")).toBeUndefined();
  });
});

describe("tokens and logout", () => {
  test("a bearer token works from a script without CSRF, and stops working once revoked", async () => {
    const t = await c.call("POST", "/api/tokens", { name: "script" });
    expect(t.status).toBe(201);
    const stored = fx.store.db
      .query("SELECT token_hash FROM web_tokens WHERE name = 'script'")
      .get() as {
      token_hash: string;
    };
    expect(stored.token_hash).not.toContain(t.body.token);
    const auth = { authorization: `Bearer ${t.body.token}` };
    const script = new Client(fx.web.url);
    const list = await script.call("GET", "/api/connections", undefined, auth);
    expect(list.status).toBe(200);
    const edit = await script.call(
      "PUT",
      "/api/connections/plc-1",
      { description: "by script" },
      auth,
    );
    expect(edit.status).toBe(200);
    expect(fx.web.app.audit.list({ target: "plc-1" })[0]?.actor).toBe("api:script");
    await c.call("DELETE", "/api/tokens/script");
    expect((await script.call("GET", "/api/connections", undefined, auth)).status).toBe(401);
  });

  test("after logout the session cookie is refused", async () => {
    const r = await c.call("POST", "/api/logout");
    expect(r.status).toBe(200);
    expect((await c.call("GET", "/api/connections")).status).toBe(401);
  });
});
