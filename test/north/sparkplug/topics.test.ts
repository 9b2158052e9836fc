import { describe, expect, test } from "bun:test";
import {
  deviceTopic,
  nodeTopic,
  parseTopic,
  sparkplugDeviceId,
  stateTopic,
} from "../../../src/north/sparkplug/topics.ts";

describe("Sparkplug topics", () => {
  test("topic-structure, topic-structure-namespace-a: spBv1.0/group/TYPE/node[/device]", () => {
    expect(nodeTopic("plant", "NBIRTH", "gw1")).toBe("spBv1.0/plant/NBIRTH/gw1");
    expect(deviceTopic("plant", "DDATA", "gw1", "plc-1")).toBe("spBv1.0/plant/DDATA/gw1/plc-1");
    expect(stateTopic("scada")).toBe("spBv1.0/STATE/scada");
  });

  test("topic-structure-namespace-valid-device-id: a device on a shared link is conn.device (no /)", () => {
    expect(sparkplugDeviceId("plc-1")).toBe("plc-1");
    expect(sparkplugDeviceId("rtu-line", "meter3")).toBe("rtu-line.meter3");
    expect(sparkplugDeviceId("rtu-line", "meter3")).not.toMatch(/[/+#]/);
  });

  test("received topics are parsed relative to this edge node only", () => {
    expect(parseTopic("spBv1.0/plant/NCMD/gw1", "plant", "gw1")).toEqual({ kind: "NCMD" });
    expect(parseTopic("spBv1.0/plant/DCMD/gw1/plc-1", "plant", "gw1")).toEqual({
      kind: "DCMD",
      device: "plc-1",
    });
    expect(parseTopic("spBv1.0/STATE/scada", "plant", "gw1")).toEqual({
      kind: "STATE",
      host: "scada",
    });
    for (const t of [
      "spBv1.0/plant/NCMD/gw2",
      "spBv1.0/other/NCMD/gw1",
      "spBv1.0/plant/DCMD/gw1",
      "spBv1.0/plant/NCMD/gw1/x",
      "spAv1.0/plant/NCMD/gw1",
      "STATE/scada",
    ])
      expect(parseTopic(t, "plant", "gw1")).toEqual({ kind: "other" });
  });
});
