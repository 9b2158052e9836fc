import { afterAll, beforeAll, expect, test } from "bun:test";
import { Client, modbusConn, startWebFixture, type WebFixture } from "./helpers.ts";

/** `GET /api/connections/:id/plan` (issue 14): auto tags added through the API, their plan. */
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

test("auto tags through the API; the plan with the spans the app reports, or static", async () => {
  expect((await c.call("POST", "/api/connections", modbusConn("ap"))).status).toBe(201);
  for (const [name, address] of [
    ["a", 0],
    ["b", 1],
    ["c", 3],
  ] as const) {
    const r = await c.call("PUT", `/api/connections/ap/tags/${name}`, {
      table: "holding_registers",
      scan_ms: 250,
      address,
      data_type: "uint16",
    });
    expect(r.status).toBe(200);
  }
  // an auto tag without scan_ms: refused, located
  const bad = await c.call("PUT", "/api/connections/ap/tags/d", {
    table: "holding_registers",
    address: 9,
    data_type: "uint16",
  });
  expect(bad.status).toBe(400);
  expect(JSON.stringify(bad.body)).toContain("scan_ms (poll period, ms) is required");
  const plan = (await c.call("GET", "/api/connections/ap/plan")).body;
  expect(plan.refused_source).toBe("app");
  expect(
    plan.requests.map((r: { block_id: string; count: number }) => [r.block_id, r.count]),
  ).toEqual([["auto._.hr.250.0", 4]]);
  const app = await fx.otherBus("ap");
  await app.publish([
    {
      path: "/system/ap/refused_spans",
      value: JSON.stringify([{ device: "", table: "holding_registers", start: 0, end: 4 }]),
      quality: "good",
      ts: Date.now(),
    },
  ]);
  const after = (await c.call("GET", "/api/connections/ap/plan")).body;
  expect(after.refused).toEqual([{ device: "", table: "holding_registers", start: 0, end: 4 }]);
  expect(after.requests.map((r: { first: number; last: number }) => [r.first, r.last])).toEqual([
    [0, 0],
    [1, 3],
  ]);
  const stat = (await c.call("GET", "/api/connections/ap/plan?static=1")).body;
  expect(stat.refused_source).toBe("none");
  expect(stat.requests).toHaveLength(1);
});
