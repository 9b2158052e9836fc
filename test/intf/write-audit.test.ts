import { afterAll, beforeAll, expect, test } from "bun:test";
import { userInfo } from "node:os";
import { join } from "node:path";
import { NodiError } from "../../src/core/errors.ts";
import { silentLogger } from "../../src/core/log.ts";
import { type AuditEntry, AuditTrail } from "../../src/store/audit.ts";
import { openAuditQueue } from "../../src/store/audit-queue.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { startWebServer, type WebServer } from "../../src/web/server.ts";
import { RedisServer } from "../support/redis-server.ts";
import { runCli } from "../support/run-cli.ts";
import { tempDir } from "../support/tmp.ts";
import { Client } from "../web/helpers.ts";
import { AppUnderTest, connRows, waitFor } from "./harness.ts";

// Issue 16: a write from each source appears in the audit trail with the identity the writer
// authenticated with and its result, recorded by the interface app that served it (with the
// tag's previous value); an outcome-unknown write is audited as such.

const redis = new RedisServer();
const dir = tempDir("ne-write-audit-");
const db = join(dir.path, "ne.db");
let t: AppUnderTest;
let audit: ReturnType<typeof openAuditQueue>;
let webStore: Store;
let webBus: RedisTagBus;
let web: WebServer;
let trail: AuditTrail;

beforeAll(async () => {
  await redis.start();
  const s = openStore(db);
  s.apply({ origin: "test", put: [connRows("plc1")] });
  s.close();
  t = await AppUnderTest.create("plc1", db, redis);
  audit = openAuditQueue(db, "ne-intf:plc1", silentLogger);
  t.audit = (r) => audit?.queue.push(r);
  t.device.values.set("setpoint", 3);
  t.start();
  await t.waitState("EXECUTE");
  await t.waitTag("setpoint", (v) => v.value === 3);
  webStore = openStore(db, { create: false });
  webBus = await createRedisTagBus({ url: redis.url, prefix: t.prefix, producer: "web" });
  web = startWebServer({ store: webStore, bus: webBus, logger: silentLogger }, { port: 0 });
  await web.app.auth.setPassword("alice", "correct horse");
  trail = new AuditTrail(t.store.db, "test");
}, 30_000);

afterAll(async () => {
  await web?.stop();
  await webBus?.close(500);
  webStore?.close();
  await t?.stop();
  audit?.close();
  await redis.shutdown();
  dir.cleanup();
});

const env = () => ({ NE_REDIS_URL: redis.url, NE_REDIS_PREFIX: t.prefix, NE_DB: db });

/** The entry of the write of `value`, once the app's queue wrote it. */
async function entryOf(value: number): Promise<AuditEntry> {
  let e: AuditEntry | undefined;
  await waitFor(() => {
    e = trail.list({ target: "/plc1/setpoint" }).find((x) => x.value === value);
    return e !== undefined;
  }, `audit entry of ${value}`);
  return e!;
}

test("CLI: the Unix user of the process, --origin only as a label, the previous value", async () => {
  const r = await runCli(["tag", "write", "/plc1/setpoint", "5", "--origin", "mallory"], {
    env: env(),
  });
  expect(r.code).toBe(0);
  const e = await entryOf(5);
  expect(e).toMatchObject({
    kind: "write",
    actor: `cli:${userInfo().username}`,
    via: "cli",
    label: "mallory",
    action: "tag.write",
    previous: 3,
    result: "done",
    recorded_by: "ne-intf:plc1",
  });
  expect(e.source).toMatch(/^uid \d+ pid \d+$/);
  expect(e.request_id).toBeTruthy();
});

test("web: the logged-in user and the client's address", async () => {
  const c = new Client(web.url);
  expect((await c.login("alice", "correct horse")).status).toBe(200);
  const r = await c.call("POST", "/api/connections/plc1/tags/setpoint/write", { value: 6 });
  expect(r.status).toBe(200);
  expect(await entryOf(6)).toMatchObject({
    actor: "web:alice",
    via: "web",
    source: "127.0.0.1",
    result: "done",
    recorded_by: "ne-intf:plc1",
  });
});

test("API token: the token's name", async () => {
  const token = web.app.auth.createToken("alice", "historian");
  const res = await fetch(`${web.url}/api/connections/plc1/tags/setpoint/write`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ value: 7 }),
  });
  expect(res.status).toBe(200);
  const e = await entryOf(7);
  expect(e).toMatchObject({ actor: "api:historian", via: "api", result: "done" });
  expect(e.source).toContain("token of alice");
});

test("a refused write is audited with its reason", async () => {
  t.device.writeError = new NodiError("device_exception", "exception 3", "ILLEGAL_DATA_VALUE");
  try {
    const r = await runCli(["tag", "write", "/plc1/setpoint", "8"], { env: env() });
    expect(r.code).toBe(65);
  } finally {
    t.device.writeError = undefined;
  }
  expect(await entryOf(8)).toMatchObject({ result: "refused", reason: "ILLEGAL_DATA_VALUE" });
});

test("an outcome-unknown write is audited as outcome_unknown", async () => {
  t.device.writeDelayMs = 1500;
  try {
    const r = await runCli(["tag", "write", "/plc1/setpoint", "9", "--timeout-ms", "300"], {
      env: env(),
    });
    expect(r.code).toBe(81);
  } finally {
    t.device.writeDelayMs = 0;
  }
  expect(await entryOf(9)).toMatchObject({
    actor: `cli:${userInfo().username}`,
    result: "outcome_unknown",
    reason: "outcome_unknown",
    recorded_by: "ne-intf:plc1",
  });
});
