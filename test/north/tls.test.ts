import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import mqtt, { type MqttClient } from "mqtt";
import { Mosquitto } from "../support/mosquitto.ts";
import { makeTestPki, type TestPki } from "../support/test-ca.ts";
import { NorthRig, until } from "./harness.ts";

// mqtts:// with a CA the test makes (issue 13 "TLS tests"): ne-north checks the broker's
// certificate against tls_ca_file and presents its client certificate; a broker signed by
// another CA is refused (never connected, the reason in last_error). Bun's TLS had bugs exactly
// here (oven-sh/bun #23556, checkServerIdentity), hence a real handshake.

const rig = new NorthRig();
let pki: TestPki;
let other: TestPki;
let tlsBroker: Mosquitto;
let sub: MqttClient;
const got: { topic: string; text: string }[] = [];

beforeAll(async () => {
  await rig.start();
  pki = makeTestPki(rig.dir.path, "good");
  other = makeTestPki(rig.dir.path, "other");
  tlsBroker = new Mosquitto({
    extraConf: [
      `cafile ${pki.ca}`,
      `certfile ${pki.serverCert}`,
      `keyfile ${pki.serverKey}`,
      "require_certificate true",
    ],
  });
  await tlsBroker.start();
  sub = await mqtt.connectAsync(`mqtts://127.0.0.1:${tlsBroker.port}`, {
    ca: readFileSync(pki.ca),
    cert: readFileSync(pki.clientCert),
    key: readFileSync(pki.clientKey),
    reconnectPeriod: 0,
  });
  sub.on("message", (topic, p) => got.push({ topic, text: p.toString() }));
  await sub.subscribeAsync("nodi-edge/#", { qos: 1 });
}, 60_000);

afterAll(async () => {
  await sub?.endAsync(true);
  await tlsBroker?.shutdown();
  await rig.shutdown();
}, 60_000);

describe("mqtts", () => {
  test("a broker certificate from tls_ca_file, a client certificate: connected, data flows", async () => {
    rig.putNorth({
      north_id: "t1",
      kind: "mqtt",
      broker_urls: `mqtts://127.0.0.1:${tlsBroker.port}`,
      tls_ca_file: pki.ca,
      tls_cert_file: pki.clientCert,
      tls_key_file: pki.clientKey,
      gateway: "gw",
      tag_selection: "/syn/*",
    });
    rig.startNorth("t1");
    await until(
      "online over TLS",
      () => got.some((g) => g.topic === "nodi-edge/gw/_status/t1" && g.text === "online"),
      30_000,
    );
    await rig.bus.publish([{ path: "/syn/a", value: 42, quality: "good", ts: Date.now() }]);
    await until("data over TLS", () => got.some((g) => g.topic === "nodi-edge/gw/syn/a"), 20_000);
    expect(JSON.parse(got.find((g) => g.topic === "nodi-edge/gw/syn/a")!.text).value).toBe(42);
  }, 60_000);

  test("a broker signed by another CA is refused; the reason is in last_error", async () => {
    rig.putNorth({
      north_id: "t2",
      kind: "mqtt",
      broker_urls: `mqtts://127.0.0.1:${tlsBroker.port}`,
      tls_ca_file: other.ca,
      tls_cert_file: other.clientCert,
      tls_key_file: other.clientKey,
      gateway: "gw",
      tag_selection: "/syn/*",
    });
    rig.startNorth("t2");
    const err = await until(
      "last_error",
      async () => (await rig.bus.get("/system/t2/last_error"))?.value as string | undefined,
      30_000,
    );
    expect(JSON.parse(err as string).message).toMatch(/certificate|self.signed|verify/i);
    expect((await rig.bus.get("/system/t2/broker_connected"))?.value).not.toBe(true);
    expect(got.some((g) => g.topic === "nodi-edge/gw/_status/t2")).toBe(false);
  }, 60_000);
});
