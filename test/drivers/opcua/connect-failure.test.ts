import { afterAll, expect, test } from "bun:test";
import { OPCUACertificateManager } from "node-opcua-certificate-manager";
import { silentLogger } from "../../../src/core/log.ts";
import { OpcuaDriver } from "../../../src/drivers/opcua/index.ts";
import { freePort } from "../../support/ports.ts";
import { tempDir } from "../../support/tmp.ts";
import { opcuaBlock, opcuaConnection, opcuaTag } from "./fixture.ts";

// A server that is down (nothing listens on its port) and the runtime trying again and again:
// every failed connect must free what it created. Before the fix each attempt left its
// OPCUACertificateManager in node-opcua-pki's static set of active instances (the client that
// never connected kept its reference on it, so the driver's dispose() only dropped that
// reference): ~40 KiB per attempt, for as long as the device stays off.

const dir = tempDir("ne-opcua-connfail-");
afterAll(() => dir.cleanup());

/** Certificate managers under this test's folder that were never really disposed. */
function undisposed(): string[] {
  try {
    OPCUACertificateManager.checkAllDisposed();
    return [];
  } catch (e) {
    return String(e)
      .split("\n")
      .map((l) => l.replace(/^\s*- /, ""))
      .filter((l) => l.startsWith(dir.path));
  }
}

test("failed connects to a server that is down leave no certificate manager behind", async () => {
  const port = await freePort();
  const driver = new OpcuaDriver(opcuaConnection({ endpoint_url: `opc.tcp://127.0.0.1:${port}` }), {
    log: silentLogger,
    dataDir: dir.path,
  });
  driver.configure([opcuaBlock("b")], [opcuaTag("v", "b", "ns=1;s=Press.Speed")]);
  for (let i = 0; i < 5; i++) {
    await expect(driver.connect()).rejects.toMatchObject({ kind: "communication" });
    await driver.close();
  }
  expect(undisposed()).toEqual([]);
}, 60_000);
