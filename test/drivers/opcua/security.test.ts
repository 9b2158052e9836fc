import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { NodiError } from "../../../src/core/errors.ts";
import { silentLogger } from "../../../src/core/log.ts";
import { OpcuaDriver } from "../../../src/drivers/opcua/index.ts";
import { listCertificates, pkiFolder, trustRejected } from "../../../src/drivers/opcua/pki.ts";
import { type OpcuaSim, startOpcuaSim } from "../../../src/sim/opcua/server.ts";
import type { Connection } from "../../../src/store/schema.ts";
import { freePort } from "../../support/ports.ts";
import { tempDir } from "../../support/tmp.ts";
import { opcuaBlock, opcuaConnection, opcuaTag } from "./fixture.ts";

const dir = tempDir("ne-opcua-sec-");
let sim: OpcuaSim;

beforeAll(async () => {
  sim = await startOpcuaSim({
    port: await freePort(),
    pkiDir: join(dir.path, "sim-pki"),
    tickMs: 0,
    users: { operator: "s3cret" },
  });
}, 60_000);

afterAll(async () => {
  await sim?.stop();
  dir.cleanup();
});

function driverFor(over: Partial<Connection>): OpcuaDriver {
  const conn = opcuaConnection({ ...over, endpoint_url: sim.endpointUrl });
  const d = new OpcuaDriver(conn, { log: silentLogger, dataDir: dir.path });
  d.configure(
    [opcuaBlock("b", { mode: "poll", conn_id: conn.conn_id })],
    [opcuaTag("mode", "b", "ns=1;s=Press.Mode", { conn_id: conn.conn_id, data_type: "int16" })],
  );
  return d;
}

async function connectError(d: OpcuaDriver): Promise<NodiError> {
  try {
    await d.connect();
  } catch (e) {
    return e as NodiError;
  } finally {
    await d.close();
  }
  throw new Error("expected connect to fail");
}

async function readMode(d: OpcuaDriver): Promise<unknown> {
  await d.connect();
  try {
    const [r] = await d.read("b");
    expect(r?.quality).toBe("good");
    return r?.value;
  } finally {
    await d.close();
  }
}

describe("opcua security", () => {
  test("None: connects without any certificate trust; the PKI is under the data dir", async () => {
    expect(await readMode(driverFor({ conn_id: "sec-none" }))).toBe(1);
    const pki = listCertificates(dir.path, "sec-none");
    expect(pki.folder).toBe(join(dir.path, "pki", "sec-none"));
    expect(existsSync(join(pki.folder, "own", "private", "private_key.pem"))).toBe(true);
  });

  const secured: Array<[Connection["security_mode"], Connection["security_policy"]]> = [
    ["Sign", "Basic256Sha256"],
    ["SignAndEncrypt", "Basic256Sha256"],
    ["SignAndEncrypt", "Aes128_Sha256_RsaOaep"],
    ["SignAndEncrypt", "Aes256_Sha256_RsaPss"],
  ];
  for (const [mode, policy] of secured) {
    test(`${mode}/${policy}: untrusted server certificate is rejected with advice; after trust it connects`, async () => {
      const connId = `sec-${String(mode).toLowerCase()}-${String(policy).toLowerCase().replace(/_/g, "-")}`;
      const over = { conn_id: connId, security_mode: mode, security_policy: policy };
      const e = await connectError(driverFor(over));
      expect(e.kind).toBe("communication");
      expect(e.reason).toMatch(/^BadCertificate/);
      expect(e.message).toContain(`nodi-edge opcua trust ${connId}`);
      expect(e.message).toContain(join(pkiFolder(dir.path, connId), "rejected"));
      expect(listCertificates(dir.path, connId).rejected.length).toBe(1);
      const moved = trustRejected(dir.path, connId);
      expect(moved).toHaveLength(1);
      expect(listCertificates(dir.path, connId).trusted).toEqual(moved);
      expect(await readMode(driverFor(over))).toBe(1);
    }, 30_000);
  }

  test("trust with nothing rejected is a not_found error", () => {
    expect(() => trustRejected(dir.path, "sec-none")).toThrow(/no rejected server certificate/);
  });

  test("user name and password: accepted, and a wrong password is refused", async () => {
    const ok = {
      conn_id: "sec-user",
      security_mode: "SignAndEncrypt",
      security_policy: "Basic256Sha256",
    } as const;
    await connectError(driverFor({ ...ok, username: "operator", password: "s3cret" }));
    trustRejected(dir.path, "sec-user");
    expect(await readMode(driverFor({ ...ok, username: "operator", password: "s3cret" }))).toBe(1);
    const e = await connectError(driverFor({ ...ok, username: "operator", password: "wrong" }));
    expect(e.kind).toBe("communication");
    expect(e.reason).toMatch(/^Bad(UserAccessDenied|IdentityTokenRejected|IdentityTokenInvalid)$/);
  }, 30_000);

  test("security mode and policy must agree", () => {
    expect(() =>
      driverFor({ conn_id: "sec-bad", security_mode: "None", security_policy: "Basic256Sha256" }),
    ).toThrow(/cannot be used with/);
  });
});
