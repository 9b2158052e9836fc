import { afterAll, beforeAll, expect, test } from "bun:test";
import { Client, modbusConn, startWebFixture, type WebFixture } from "./helpers.ts";

/** The web API's device profiles (issue 14): add, list, show, edit (reloads instances), refused and done removal. */
let fx: WebFixture;
let c: Client;
beforeAll(async () => {
  fx = await startWebFixture();
  c = new Client(fx.web.url);
  expect((await c.login("admin", "correct horse")).status).toBe(200);
});
afterAll(async () => {
  await fx?.close();
});

const profile = (deadband = 0) => ({
  profile: { description: "test meter, manual p. 3" },
  blocks: [{ block_id: "ir", table: "input_registers", address: 0, count: 4, period_ms: 1000 }],
  tags: [
    { tag_name: "voltage", block_id: "ir", address: 0, data_type: "float32", deadband },
    { tag_name: "energy", block_id: "ir", address: 2, data_type: "float32" },
  ],
});

test("profiles: add, instances on a connection, list and show, an edit reloads the connections using it, removal refused while in use", async () => {
  const created = await c.call("PUT", "/api/profiles/meter", profile());
  expect(created.status).toBe(201);
  expect(created.body.profile_changes).toEqual([{ profile: "meter", stored: "created" }]);
  const bad = await c.call("PUT", "/api/profiles/broken", {
    ...profile(),
    tags: [{ tag_name: "v", block_id: "ir", address: 3, data_type: "float32" }],
  });
  expect(bad.status).toBe(400);
  expect(JSON.stringify(bad.body)).toContain('tag must lie inside its block \\"ir\\"');

  expect((await c.call("POST", "/api/connections", modbusConn("gw"))).status).toBe(201);
  expect((await c.call("POST", "/api/connections", modbusConn("other"))).status).toBe(201);
  for (const u of [3, 4]) {
    const r = await c.call("PUT", `/api/connections/gw/devices/m${u}`, {
      unit_id: u,
      profile: "meter",
    });
    expect(r.status).toBe(200);
  }
  const cfg = (await c.call("GET", "/api/connections/gw")).body;
  expect(cfg.tags.map((t: { tag_name: string }) => t.tag_name)).toEqual([
    "m3/voltage",
    "m3/energy",
    "m4/voltage",
    "m4/energy",
  ]);
  const list = (await c.call("GET", "/api/profiles")).body.profiles;
  expect(list).toEqual([
    expect.objectContaining({
      profile: "meter",
      block_count: 1,
      tag_count: 2,
      instances: [
        { conn_id: "gw", device: "m3", unit_id: 3 },
        { conn_id: "gw", device: "m4", unit_id: 4 },
      ],
    }),
  ]);
  const show = (await c.call("GET", "/api/profiles/meter")).body;
  expect(show.tags).toHaveLength(2);
  expect((await c.call("GET", "/api/profiles/nosuch")).status).toBe(404);

  const observer = await fx.otherBus("observer");
  const reloads: string[] = [];
  const sub = await observer.subscribe(["/system/*/config_reload"], (ev) => {
    if (ev.kind === "value") reloads.push(ev.value.path);
  });
  const edit = await c.call("PUT", "/api/profiles/meter", profile(0.5));
  expect(edit.status).toBe(200);
  expect(edit.body.changes).toEqual([{ conn_id: "gw", kind: "blocks_changed", stored: "updated" }]);
  for (let i = 0; i < 100 && reloads.length === 0; i++) await Bun.sleep(20);
  expect(reloads).toEqual(["/system/gw/config_reload"]); // not /system/other/…
  await sub.close();

  const inUse = await c.call("DELETE", "/api/profiles/meter");
  expect(inUse.status).toBe(409);
  expect(JSON.stringify(inUse.body)).toContain("gw/m3, gw/m4");
  for (const u of [3, 4]) {
    expect((await c.call("DELETE", `/api/connections/gw/devices/m${u}`)).status).toBe(200);
  }
  expect((await c.call("DELETE", "/api/profiles/meter")).status).toBe(200);
  expect((await c.call("GET", "/api/profiles")).body.profiles).toEqual([]);
});
