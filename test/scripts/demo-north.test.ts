import { afterAll, beforeAll, expect, test } from "bun:test";
import mqtt from "mqtt";
import { NorthWatch } from "../../scripts/demo/north.ts";
import { encodePayload } from "../../src/north/sparkplug/codec.ts";
import { until } from "../contract/tagbus.contract.ts";
import { Mosquitto } from "../support/mosquitto.ts";

/**
 * The demo's northbound table counts the Sparkplug messages of a multi-device link, whose
 * devices are `{conn_id}.{device}` (docs/north.md): it showed `meters … 0 msgs` while the
 * plain MQTT northbound had 30,100 messages from the same connection (fresh-user check,
 * 2026-12-02).
 */
const broker = new Mosquitto();
beforeAll(() => broker.start());
afterAll(() => broker.shutdown());

test("Sparkplug DDATA of devices meters.feeder1 and .feeder2 are shown under connection meters", async () => {
  const watch = await NorthWatch.open(broker.url);
  const pub = await mqtt.connectAsync(broker.url);
  try {
    const body = (seq: number) => Buffer.from(encodePayload({ timestamp: 1, seq, metrics: [] }));
    await pub.publishAsync("spBv1.0/demo/DDATA/gw/meters.feeder1", body(7));
    await pub.publishAsync("spBv1.0/demo/DDATA/gw/meters.feeder2", body(8));
    await pub.publishAsync("spBv1.0/demo/DDATA/gw/meters.feeder2", body(9));
    await until(() => watch.render(["meters", "line1"]).includes("last seq 9"));
    const text = watch.render(["meters", "line1"]);
    expect(text).toMatch(/meters\.feeder1 +spBv1\.0\/demo\/DDATA\/gw\/meters\.feeder1 +1 msgs/);
    expect(text).toMatch(/meters\.feeder2 +spBv1\.0\/demo\/DDATA\/gw\/meters\.feeder2 +2 msgs/);
    // a connection with no Sparkplug message yet still has its row
    expect(text).toMatch(/line1 +spBv1\.0\/demo\/DDATA\/gw\/line1 +0 msgs/);
    expect(text).not.toMatch(/ meters +spBv1/);
  } finally {
    await pub.endAsync(true);
    await watch.close();
  }
});
