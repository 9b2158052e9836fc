import { afterAll, beforeAll, expect, test } from "bun:test";
import { AttributeIds } from "node-opcua-client";
import { isNodiError, type NodiError } from "../../../src/core/errors.ts";
import { silentLogger } from "../../../src/core/log.ts";
import { OpcuaDriver } from "../../../src/drivers/opcua/index.ts";
import { isOutcomeUnknown } from "../../../src/intf/write-handler.ts";
import { type OpcuaSim, startOpcuaSim } from "../../../src/sim/opcua/server.ts";
import { freePort } from "../../support/ports.ts";
import { TcpProxy } from "../../support/tcp-proxy.ts";
import { tempDir } from "../../support/tmp.ts";
import { opcuaBlock, opcuaConnection, opcuaTag } from "./fixture.ts";

// A Write request that reached the server, which applied it, and whose reply never came: the
// connection broke first (a TCP proxy drops the server's reply, then closes). Seen with the
// compiled stack (`nodi-edge tag write` while the server was SIGKILLed): the app answered
// `communication`, which says "not applied" (CLI exit 65), though the device may have applied
// it. The driver now marks such a failure sent, so the app answers `outcome_unknown` and reads
// back (docs/intf.md "Outcome unknown").

const dir = tempDir("ne-opcua-wlost-");
let sim: OpcuaSim;
let proxy: TcpProxy;
let driver: OpcuaDriver;
const NODE = "ns=1;s=Press.Params.Double";
const tag = opcuaTag("p_double", "params", NODE, { access: "read-write" });

beforeAll(async () => {
  sim = await startOpcuaSim({ port: await freePort(), pkiDir: `${dir.path}/sim-pki`, tickMs: 0 });
  proxy = new TcpProxy(sim.port).start();
  driver = new OpcuaDriver(opcuaConnection({ endpoint_url: `opc.tcp://127.0.0.1:${proxy.port}` }), {
    log: silentLogger,
    dataDir: dir.path,
  });
  driver.configure([opcuaBlock("params", { mode: "poll", period_ms: null })], [tag]);
  await driver.connect();
}, 60_000);

afterAll(async () => {
  await driver?.close();
  proxy?.stop();
  await sim?.stop();
  dir.cleanup();
});

test("a write whose reply is lost with the connection is outcome unknown, not 'not applied'", async () => {
  await driver.write(tag, 1.5); // reads and caches the DataType: the next write is one request
  sim.server.on("request", (req: { schema?: { name?: string } }) => {
    if (req.schema?.name !== "WriteRequest") return;
    proxy.dropReplies = true;
    setTimeout(() => proxy.stop(), 100);
  });
  let err: NodiError | undefined;
  try {
    await driver.write(tag, 42.5);
  } catch (e) {
    if (!isNodiError(e)) throw e;
    err = e;
  }
  expect(err?.kind).toBe("communication");
  // the server applied it
  const dv = await sim.server.engine.addressSpace
    ?.findNode(NODE)
    ?.readAttribute(null, AttributeIds.Value);
  expect(dv?.value.value).toBe(42.5);
  expect(err && isOutcomeUnknown(err)).toBe(true);
}, 60_000);
