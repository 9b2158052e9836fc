import { afterAll, beforeAll, expect, test } from "bun:test";
import type { NodiError } from "../../../src/core/errors.ts";
import type { OpcuaDriver } from "../../../src/drivers/opcua/index.ts";
import type { OpcuaSim } from "../../../src/sim/opcua/server.ts";
import { freePort } from "../../support/ports.ts";
import { tempDir } from "../../support/tmp.ts";
import {
  benchTags,
  Collector,
  connectedDriver,
  opcuaBlock,
  startBenchSim,
  waitFor,
} from "./fixture.ts";

// A server that goes away under a subscribed block, three times, and what the runtime does
// then (close, connect again): every tag's values resume each time, and every lost session is
// closed. Before the fix the driver forgot the lost link without closing it (the runtime's
// close() found none): its node-opcua session kept its keep-alive timer, pinging a dead
// channel every 10 s and keeping the whole client in memory, once per reconnect.

const dir = tempDir("ne-opcua-lost-");
const ITEMS = 10;
let port = 0;
let sim: OpcuaSim;
let driver: OpcuaDriver;
const lost: NodiError[] = [];
const tags = benchTags(ITEMS, "bench");
const block = opcuaBlock("bench", { period_ms: 100 });

const startSim = () => startBenchSim({ pkiRoot: dir.path, items: ITEMS, port });

/** node-opcua's ClientSessionImpl (not in its public ClientSession type). */
interface SessionImpl {
  hasBeenClosed(): boolean;
  _keepAliveManager?: unknown;
}

beforeAll(async () => {
  port = await freePort();
  sim = await startSim();
  driver = await connectedDriver({
    endpointUrl: sim.endpointUrl,
    dataDir: dir.path,
    blocks: [block],
    tags: tags,
    onLinkLost: (e) => lost.push(e),
  });
}, 60_000);

afterAll(async () => {
  await driver?.close();
  await sim?.stop();
  dir.cleanup();
});

test("server gone three times: values resume for every tag, every lost session is closed", async () => {
  const c = new Collector();
  await driver.push.start(block, c.emit);
  const old: SessionImpl[] = [];
  for (let cycle = 0; cycle < 3; cycle++) {
    c.perTag.clear();
    await waitFor(
      () => tags.every((t) => (c.perTag.get(t.tag_name) ?? 0) >= 2),
      20_000,
      `two values of every tag (cycle ${cycle})`,
    );
    old.push(driver.session as unknown as SessionImpl);
    const before = lost.length;
    await sim.stop();
    await waitFor(() => lost.length > before, 20_000, "onLinkLost");
    sim = await startSim();
    // the runtime: close, then connect until it works
    await driver.close();
    await waitFor(
      async () => {
        try {
          await driver.connect();
          return true;
        } catch {
          return false;
        }
      },
      30_000,
      "a new session",
    );
  }
  c.perTag.clear();
  await waitFor(
    () => tags.every((t) => (c.perTag.get(t.tag_name) ?? 0) >= 2),
    20_000,
    "two values of every tag after the last restart",
  );
  await waitFor(() => old.every((s) => s.hasBeenClosed()), 10_000, "the lost sessions closed");
  expect(old.map((s) => s._keepAliveManager === undefined)).toEqual([true, true, true]);
  expect(driver.session as unknown as SessionImpl).not.toBe(old[2]);
}, 180_000);
