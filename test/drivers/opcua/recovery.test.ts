import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import type { NodiError } from "../../../src/core/errors.ts";
import { silentLogger } from "../../../src/core/log.ts";
import { OpcuaDriver } from "../../../src/drivers/opcua/index.ts";
import { type OpcuaSim, startOpcuaSim } from "../../../src/sim/opcua/server.ts";
import { freePort } from "../../support/ports.ts";
import { tempDir } from "../../support/tmp.ts";
import { Collector, opcuaBlock, opcuaConnection, opcuaTag, waitFor } from "./fixture.ts";

/**
 * A TCP relay between the driver and the simulator that can cut the network: `reset()`
 * destroys every connection (like a cable pulled with RSTs), `blackhole(true)` silently drops
 * every byte in both directions and leaves sockets open (like a dead route).
 */
class Relay {
  private server: Server | undefined;
  private sockets = new Set<Socket>();
  private dropping = false;
  port = 0;
  constructor(private readonly target: number) {}
  async start(): Promise<void> {
    this.port = await freePort();
    this.server = createServer((down) => {
      const up = connect(this.target, "127.0.0.1");
      for (const s of [down, up]) {
        this.sockets.add(s);
        s.on("error", () => {});
        s.on("close", () => {
          this.sockets.delete(s);
          down.destroy();
          up.destroy();
        });
      }
      down.on("data", (b) => this.dropping || up.write(b));
      up.on("data", (b) => this.dropping || down.write(b));
    });
    await new Promise<void>((r) => this.server?.listen(this.port, "127.0.0.1", r));
  }
  reset(): void {
    for (const s of this.sockets) s.destroy();
  }
  blackhole(on: boolean): void {
    this.dropping = on;
    if (!on) this.reset(); // half-dead streams cannot be resumed: the peers reconnect
  }
  async stop(): Promise<void> {
    this.reset();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

const dir = tempDir("ne-opcua-rec-");
let sim: OpcuaSim;
let relay: Relay;
let driver: OpcuaDriver;
const lost: NodiError[] = [];
const c = new Collector();

/** What the runtime does after onLinkLost: close, then connect again until it works. */
async function reconnect(): Promise<void> {
  await driver.close();
  await waitFor(
    async () => {
      try {
        await driver.connect();
        return true;
      } catch {
        await driver.close();
        return false;
      }
    },
    45_000,
    "a new session",
  );
}

async function valuesFlowAfter(t0: number): Promise<void> {
  await waitFor(() => (c.last.get("strokes")?.ts ?? 0) > t0, 20_000, "fresh values");
}

beforeAll(async () => {
  sim = await startOpcuaSim({
    port: await freePort(),
    pkiDir: join(dir.path, "sim-pki"),
    tickMs: 100,
  });
  relay = new Relay(sim.port);
  await relay.start();
  driver = new OpcuaDriver(
    opcuaConnection({
      endpoint_url: `opc.tcp://127.0.0.1:${relay.port}`,
      timeout_ms: 1000,
      connect_timeout_ms: 3000,
    }),
    { log: silentLogger, dataDir: dir.path },
  );
  driver.onLinkLost((e) => lost.push(e));
  const block = opcuaBlock("live", { period_ms: 100 });
  driver.configure(
    [block],
    [
      opcuaTag("strokes", "live", "ns=1;s=Press.StrokeCount"),
      opcuaTag("speed", "live", "ns=1;s=Press.Speed"),
    ],
  );
  await driver.connect();
  await driver.push.start(block, c.emit);
  await valuesFlowAfter(0);
}, 60_000);

afterAll(async () => {
  await driver?.close();
  await relay?.stop();
  await sim?.stop();
  dir.cleanup();
});

describe("opcua recovery from network loss", () => {
  test("connections reset: link lost, then a new session with the monitored items back", async () => {
    const n = lost.length;
    relay.reset();
    await waitFor(() => lost.length > n, 20_000, "onLinkLost");
    await reconnect();
    await valuesFlowAfter(Date.now());
  }, 60_000);

  test("silent network loss (no FIN, no RST) is detected, and recovery follows when it returns", async () => {
    const n = lost.length;
    relay.blackhole(true);
    await waitFor(() => lost.length > n, 40_000, "onLinkLost after silent loss");
    expect(lost.at(-1)?.kind).toBe("communication");
    relay.blackhole(false);
    await reconnect();
    await valuesFlowAfter(Date.now());
  }, 90_000);
});
