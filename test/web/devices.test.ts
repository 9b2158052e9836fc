import { afterAll, beforeAll, expect, test } from "bun:test";
import { Client, modbusConn, startWebFixture, type WebFixture } from "./helpers.ts";

/** The web API's devices of a link (issue 14): add, edit, refuse, remove; tags with `/`. */
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

test("devices: add, edit, a block and a {device}/{tag} tag on it, refused removal, removal", async () => {
  expect((await c.call("POST", "/api/connections", modbusConn("gw"))).status).toBe(201);
  const dev = (d: string) => `/api/connections/gw/devices/${d}`;
  expect((await c.call("PUT", dev("meter3"), { unit_id: 3 })).status).toBe(200);
  expect((await c.call("PUT", dev("meter3"), { description: "hall A" })).status).toBe(200);
  const bad = await c.call("PUT", dev("meter4"), { unit_id: 999 });
  expect(bad.status).toBe(400);
  expect(JSON.stringify(bad.body)).toContain("unit_id must be at most 255");
  expect(
    (
      await c.call("PUT", "/api/connections/gw/blocks/m3", {
        device: "meter3",
        table: "input_registers",
        count: 2,
        period_ms: 1000,
      })
    ).status,
  ).toBe(200);
  const tag = `/api/connections/gw/tags/${encodeURIComponent("meter3/voltage")}`;
  expect(
    (await c.call("PUT", tag, { block_id: "m3", data_type: "float32", address: 0 })).status,
  ).toBe(200);
  const cfg = (await c.call("GET", "/api/connections/gw")).body;
  expect(cfg.devices).toEqual([
    { conn_id: "gw", device: "meter3", unit_id: 3, description: "hall A", profile: null },
  ]);
  expect(cfg.tags.map((t: { tag_name: string }) => t.tag_name)).toEqual(["meter3/voltage"]);
  // a block edit keeps the devices
  expect((await c.call("PUT", "/api/connections/gw/blocks/m3", { period_ms: 500 })).status).toBe(
    200,
  );
  expect((await c.call("GET", "/api/connections/gw")).body.devices).toHaveLength(1);
  // removing a device its block names is refused; after the block, it goes
  expect((await c.call("DELETE", dev("meter3"))).status).toBe(400);
  expect((await c.call("DELETE", "/api/connections/gw/blocks/m3")).status).toBe(200);
  expect((await c.call("DELETE", dev("meter3"))).status).toBe(200);
  expect((await c.call("DELETE", dev("meter3"))).status).toBe(404);
  expect((await c.call("GET", "/api/connections/gw")).body).not.toHaveProperty("devices");
});
