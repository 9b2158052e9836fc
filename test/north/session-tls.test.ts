import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { isNodiError } from "../../src/core/errors.ts";
import { silentLogger } from "../../src/core/log.ts";
import type { OutMessage } from "../../src/north/format.ts";
import { MqttSession, type SessionOptions } from "../../src/north/session.ts";
import { Mosquitto } from "../support/mosquitto.ts";
import { makeTestPki, type TestPki } from "../support/test-ca.ts";
import { tempDir } from "../support/tmp.ts";

// mqtts:// against a real mosquitto TLS listener, with a CA this test makes (openssl): the
// broker's certificate is checked against the CA file (host name and IP address in its SAN),
// an unknown CA is refused, and a listener that requires client certificates takes ours.
// (test/north/tls.test.ts covers the same through a whole ne-north.)
const dir = tempDir("ne-mqtts-");
let pki: TestPki;
let other: TestPki;

const will: OutMessage = { topic: "t/will", payload: "offline", qos: 1, retain: false };
const opts = (url: string, over: Partial<SessionOptions> = {}): SessionOptions => ({
  url,
  clientId: `tls-test-${Math.random().toString(36).slice(2)}`,
  keepaliveS: 30,
  will,
  connectTimeoutMs: 5000,
  log: silentLogger,
  onMessage: () => {},
  onClose: () => {},
  ...over,
});

let broker: Mosquitto;
let mutual: Mosquitto;

beforeAll(async () => {
  pki = makeTestPki(dir.path, "good");
  other = makeTestPki(dir.path, "other");
  const tlsConf = [`cafile ${pki.ca}`, `certfile ${pki.serverCert}`, `keyfile ${pki.serverKey}`];
  broker = await new Mosquitto({ extraConf: tlsConf }).start();
  mutual = await new Mosquitto({ extraConf: [...tlsConf, "require_certificate true"] }).start();
});

afterAll(async () => {
  await broker?.shutdown();
  await mutual?.shutdown();
  dir.cleanup();
});

describe("MQTT over TLS (mqtts://)", () => {
  test("connects with the CA file, by host name and by IP address, and a QoS 1 publish is acknowledged", async () => {
    for (const host of ["localhost", "127.0.0.1"]) {
      const s = await MqttSession.open(
        opts(`mqtts://${host}:${broker.port}`, { tlsCaFile: pki.ca }),
      );
      expect(s.connected).toBe(true);
      await s.publish({ topic: "t/x", payload: "1", qos: 1, retain: false });
      await s.end([]);
    }
  });

  test("a broker certificate from another CA is refused with a communication error naming the cause", async () => {
    const err = await MqttSession.open(
      opts(`mqtts://localhost:${broker.port}`, { tlsCaFile: other.ca }),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isNodiError(err)).toBe(true);
    expect((err as Error).message).toMatch(/certificate|self.signed|verify/i);
  });

  test("a listener that requires client certificates accepts ours and refuses a client without one", async () => {
    const s = await MqttSession.open(
      opts(`mqtts://localhost:${mutual.port}`, {
        tlsCaFile: pki.ca,
        tlsCertFile: pki.clientCert,
        tlsKeyFile: pki.clientKey,
      }),
    );
    await s.publish({ topic: "t/y", payload: "2", qos: 1, retain: false });
    await s.end([]);
    const err = await MqttSession.open(
      opts(`mqtts://localhost:${mutual.port}`, { tlsCaFile: pki.ca }),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isNodiError(err)).toBe(true);
  });
});
