import { afterAll, beforeAll, expect, test } from "bun:test";
import { WITHHELD } from "../../src/loader/import.ts";
import { Client, startWebFixture, type WebFixture } from "./helpers.ts";

// The web API never sends a stored password to the browser (docs/security.md "Secrets"); the
// marker it sends instead, sent back by a form, keeps the stored password.

const PW = "s3cret-ua-web";
let fx: WebFixture;
let c: Client;

beforeAll(async () => {
  fx = await startWebFixture();
  c = new Client(fx.web.url);
  expect((await c.login("admin", "correct horse")).status).toBe(200);
  const r = await c.call("POST", "/api/connections", {
    conn_id: "ua1",
    protocol: "opcua",
    endpoint_url: "opc.tcp://10.0.0.9:4840",
    username: "operator",
    password: PW,
  });
  expect(r.status).toBe(201);
  expect(r.body.connection.password).toBe(WITHHELD);
});
afterAll(() => fx?.close());

const storedPassword = () => fx.store.getConnection("ua1")?.password;

test("GET /api/connections and /api/connections/:id show the password withheld", async () => {
  for (const path of ["/api/connections", "/api/connections/ua1"]) {
    const r = await c.call("GET", path);
    expect(r.status).toBe(200);
    expect(JSON.stringify(r.body)).not.toContain(PW);
  }
  const one = await c.call("GET", "/api/connections/ua1");
  expect(one.body.connection.password).toBe(WITHHELD);
  const csv = await c.call("GET", "/api/export");
  expect(JSON.stringify(csv.body)).not.toContain(PW);
  expect(csv.body.connections).toContain(WITHHELD);
});

test("a form sent back with the marker keeps the stored password; a new one replaces it", async () => {
  const shown = (await c.call("GET", "/api/connections/ua1")).body.connection;
  const r = await c.call("PUT", "/api/connections/ua1", { ...shown, description: "press 1" });
  expect(r.status).toBe(200);
  expect(r.body.connection.password).toBe(WITHHELD);
  expect(storedPassword()).toBe(PW);
  expect(fx.store.getConnection("ua1")?.description).toBe("press 1");
  await c.call("PUT", "/api/connections/ua1", { password: "another-one" });
  expect(storedPassword()).toBe("another-one");
  await c.call("PUT", "/api/connections/ua1", { password: PW });
});

test("the enable/disable answers withhold it too; a new connection cannot claim the marker", async () => {
  const d = await c.call("POST", "/api/connections/ua1/disable");
  expect(d.status).toBe(200);
  expect(JSON.stringify(d.body)).not.toContain(PW);
  const n = await c.call("POST", "/api/connections", {
    conn_id: "ua2",
    protocol: "opcua",
    endpoint_url: "opc.tcp://h:4840",
    password: WITHHELD,
  });
  expect(n.status).toBe(400);
  expect(fx.store.getConnection("ua2")).toBeUndefined();
});
