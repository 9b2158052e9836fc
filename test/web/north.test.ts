import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TagValue } from "../../src/core/tag-value.ts";
import type { RedisTagBus } from "../../src/tagbus/index.ts";
import { Client, modbusConn, startWebFixture, until, type WebFixture } from "./helpers.ts";

// The northbound API of the web UI: the same validation and announcements as the CLI and the
// CSV import, the password never shown, the health of the ne-north app joined in.
let fx: WebFixture;
let c: Client;
let observer: RedisTagBus;
const seen: TagValue[] = [];

beforeAll(async () => {
  fx = await startWebFixture();
  c = new Client(fx.web.url);
  await c.login("admin", "correct horse");
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

describe("northbounds over the API", () => {
  test("the schema names the northbound fields and which kind each kind-specific field is for", async () => {
    const r = await c.call("GET", "/api/schema");
    expect(r.body.fields.northbound.map((f: { name: string }) => f.name)).toContain("broker_urls");
    expect(r.body.northKindFields.group_id).toEqual(["sparkplug"]);
    expect(r.body.northKindFields.topic_template).toEqual(["mqtt"]);
  });

  test("add: created, announced north_added, the password withheld in every answer", async () => {
    const r = await c.call("POST", "/api/northbounds", {
      north_id: "cloud",
      kind: "mqtt",
      broker_urls: "mqtt://10.0.0.5:1883",
      username: "edge",
      password: "s3cret",
    });
    expect(r.status).toBe(201);
    expect(r.body.changes).toEqual([{ north_id: "cloud", kind: "added", stored: "created" }]);
    expect(r.body.northbound).toMatchObject({ north_id: "cloud", password: "*withheld*", qos: 1 });
    await sawSystemTag("/system/supervisor/north_added", "cloud");
    expect(fx.store.getNorthbound("cloud")?.password).toBe("s3cret");
    const list = await c.call("GET", "/api/northbounds");
    expect(JSON.stringify(list.body)).not.toContain("s3cret");
    const dup = await c.call("POST", "/api/northbounds", {
      north_id: "cloud",
      kind: "mqtt",
      broker_urls: "mqtt://x",
    });
    expect(dup.status).toBe(409);
    const audit = fx.web.app.audit.list().find((e) => e.action === "northbound.add");
    expect(JSON.stringify(audit)).not.toContain("s3cret");
  });

  test("the status joins the health tags ne-north publishes", async () => {
    const app = await fx.otherBus("north:cloud");
    const now = Date.now();
    await app.publish([
      {
        path: "/system/cloud/state",
        value: "RECOVER",
        quality: "good",
        reason: "ECONNREFUSED",
        ts: now,
      },
      { path: "/system/cloud/broker_connected", value: false, quality: "good", ts: now },
      { path: "/system/cloud/buffered", value: 42, quality: "good", ts: now },
      { path: "/system/cloud/dropped", value: 0, quality: "good", ts: now },
    ]);
    const r = await until("status", async () => {
      const x = await c.call("GET", "/api/northbounds/cloud");
      return x.body.northbound.status.state === "RECOVER" ? x : undefined;
    });
    expect(r!.body.northbound.status).toMatchObject({
      state: "RECOVER",
      reason: "ECONNREFUSED",
      broker_connected: false,
      buffered: 42,
      dropped: 0,
    });
  });

  test("edit: without a password keeps it; a publishing option is a reload, the broker a restart", async () => {
    const sel = await c.call("PUT", "/api/northbounds/cloud", {
      tag_selection: "/plc1/*",
      password: "*withheld*",
    });
    expect(sel.status).toBe(200);
    expect(sel.body.changes).toEqual([{ north_id: "cloud", kind: "reload", stored: "updated" }]);
    const url = await c.call("PUT", "/api/northbounds/cloud", { broker_urls: "mqtts://b:8883" });
    expect(url.body.changes[0].kind).toBe("restart");
    expect(fx.store.getNorthbound("cloud")).toMatchObject({
      password: "s3cret",
      tag_selection: "/plc1/*",
      broker_urls: "mqtts://b:8883",
    });
    await sawSystemTag("/system/cloud/config_reload");
    const newPw = await c.call("PUT", "/api/northbounds/cloud", { password: "other" });
    expect(newPw.body.changes[0].kind).toBe("restart");
    expect(fx.store.getNorthbound("cloud")?.password).toBe("other");
  });

  test("bad input is refused with issues naming the field and rule; nothing is written", async () => {
    const before = JSON.stringify(fx.store.listNorthbounds());
    const r = await c.call("POST", "/api/northbounds", {
      north_id: "spb",
      kind: "sparkplug",
      broker_urls: "mqtt://b",
      topic_template: "x/{site}",
    });
    expect(r.status).toBe(400);
    expect(
      r.body.error.issues.map((i: { entity: string; field: string }) => `${i.entity}.${i.field}`),
    ).toEqual(["northbound.topic_template"]);
    await c.call("POST", "/api/connections", modbusConn("plc1"));
    const clash = await c.call("POST", "/api/northbounds", {
      north_id: "plc1",
      kind: "mqtt",
      broker_urls: "mqtt://b",
    });
    expect(clash.status).toBe(400);
    expect(clash.body.error.issues[0].message).toContain("already a connection's conn_id");
    const badPut = await c.call("PUT", "/api/northbounds/cloud", { qos: 5 });
    expect(badPut.status).toBe(400);
    expect(JSON.stringify(fx.store.listNorthbounds())).toBe(before);
    expect((await c.call("GET", "/api/northbounds/nope")).status).toBe(404);
    expect((await c.call("PUT", "/api/northbounds/cloud", { north_id: "x" })).status).toBe(400);
  });

  test("disable, enable and remove announce north_removed and north_added", async () => {
    seen.length = 0;
    const off = await c.call("POST", "/api/northbounds/cloud/disable");
    expect(off.body.changes[0]).toMatchObject({ kind: "removed" });
    await sawSystemTag("/system/supervisor/north_removed", "cloud");
    await c.call("POST", "/api/northbounds/cloud/enable");
    await sawSystemTag("/system/supervisor/north_added", "cloud");
    seen.length = 0;
    const rm = await c.call("DELETE", "/api/northbounds/cloud");
    expect(rm.body.changes).toEqual([{ north_id: "cloud", kind: "removed", stored: "deleted" }]);
    await sawSystemTag("/system/supervisor/north_removed", "cloud");
    expect((await c.call("GET", "/api/northbounds")).body.northbounds).toEqual([]);
  });
});
