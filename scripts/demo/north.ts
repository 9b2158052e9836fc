import { existsSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { userInfo } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import mqtt, { type MqttClient } from "mqtt";
import { decodePayload } from "../../src/north/sparkplug/codec.ts";
import { spawnOwned } from "./procs.ts";

/** Debian's broker; the demo's northbound needs it (ensure-deps installs it). */
export const MOSQUITTO = "/usr/sbin/mosquitto";

/** True when the broker the demo runs is installed. */
export function hasMosquitto(): boolean {
  return existsSync(MOSQUITTO);
}

/** The demo's plain MQTT and Sparkplug northbounds on the private broker at `url`. */
export function demoNorthbounds(url: string): Record<string, unknown>[] {
  return [
    { north_id: "demo-mqtt", kind: "mqtt", broker_urls: url, gateway: "demo", keepalive_s: 10 },
    {
      north_id: "demo-spb",
      kind: "sparkplug",
      broker_urls: url,
      gateway: "demo",
      group_id: "demo",
      edge_node_id: "gw",
      keepalive_s: 10,
    },
  ];
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      const port = typeof a === "object" && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts a private mosquitto on a free loopback port (config in `dir`). */
export async function startBroker(
  dir: string,
  logFd: number,
): Promise<{ url: string; proc: Subprocess }> {
  const port = await freePort();
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      "persistence false",
      ...(userInfo().uid === 0 ? ["user root"] : []),
      "log_dest stderr",
      "log_type error",
      "",
    ].join("\n"),
  );
  const proc = spawnOwned([MOSQUITTO, "-c", conf], process.env, logFd);
  const end = Date.now() + 10_000;
  for (;;) {
    try {
      const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      s.end();
      break;
    } catch {
      if (Date.now() > end || proc.exitCode !== null)
        throw new Error(`mosquitto did not start on port ${port}`);
      await Bun.sleep(30);
    }
  }
  return { url: `mqtt://127.0.0.1:${port}`, proc };
}

interface Seen {
  messages: number;
  /** Arrival times of the last messages (for the rate), ms. */
  recent: number[];
  lastAt: number;
  seq?: number;
}

/**
 * What arrives at the demo's broker, per connection: plain MQTT messages on
 * `nodi-edge/demo/{conn_id}/…` and Sparkplug messages of edge node `demo/gw` per device,
 * with the last Sparkplug `seq` and the message rate.
 */
export class NorthWatch {
  private readonly plain = new Map<string, Seen>();
  private readonly spb = new Map<string, Seen>();
  private status = "—";
  private births = 0;

  private constructor(
    private readonly client: MqttClient,
    readonly url: string,
  ) {}

  static async open(url: string): Promise<NorthWatch> {
    const client = await mqtt.connectAsync(url, {
      clientId: `demo-watch-${process.pid}`,
      reconnectPeriod: 500,
    });
    const w = new NorthWatch(client, url);
    client.on("message", (topic, payload) => w.onMessage(topic, payload));
    await client.subscribeAsync(["nodi-edge/demo/#", "spBv1.0/demo/#"], { qos: 0 });
    return w;
  }

  private bump(map: Map<string, Seen>, key: string, seq?: number): void {
    const now = Date.now();
    const s = map.get(key) ?? { messages: 0, recent: [], lastAt: 0 };
    s.messages++;
    s.lastAt = now;
    s.recent.push(now);
    while (s.recent.length && now - s.recent[0]! > 5000) s.recent.shift();
    if (seq !== undefined) s.seq = seq;
    map.set(key, s);
  }

  private onMessage(topic: string, payload: Buffer): void {
    const l = topic.split("/");
    if (l[0] === "nodi-edge") {
      if (l[2] === "_status") this.status = payload.toString();
      else if (l[2] && !l[2].startsWith("_") && l.length >= 4) this.bump(this.plain, l[2]);
      return;
    }
    // spBv1.0/demo/{TYPE}/gw[/device]
    const type = l[2];
    let seq: number | undefined;
    try {
      const p = decodePayload(new Uint8Array(payload));
      if (p.seq !== undefined) seq = Number(p.seq);
    } catch {
      return;
    }
    if (type === "NBIRTH") this.births++;
    if (l[4] && (type === "DDATA" || type === "DBIRTH")) this.bump(this.spb, l[4], seq);
  }

  /**
   * The Sparkplug device ids seen for a connection: `{conn_id}`, or `{conn_id}.{device}` for
   * each device of a multi-device link (docs/north.md); the connection id alone until any is seen.
   */
  spbDevices(connId: string): string[] {
    const seen = [...this.spb.keys()].filter((k) => k === connId || k.startsWith(`${connId}.`));
    return seen.length > 0 ? seen.sort() : [connId];
  }

  /** Text lines for the demo's view. */
  render(connIds: string[], now = Date.now()): string {
    const rate = (m: Seen | undefined) =>
      m ? `${(m.recent.filter((t) => now - t <= 5000).length / 5).toFixed(1)}/s` : "0.0/s";
    const count = (m: Seen | undefined) => `${String(m?.messages ?? 0).padStart(6)} msgs`;
    const w = Math.max(...connIds.flatMap((c) => this.spbDevices(c)).map((c) => c.length), 6);
    const lines = [
      `northbound — what arrives at the MQTT broker ${this.url} (a private mosquitto)`,
      `  plain MQTT (northbound demo-mqtt), status ${this.status}`,
      ...connIds.map((id) => {
        const m = this.plain.get(id);
        return `    ${id.padEnd(w)}  ${`nodi-edge/demo/${id}/…`.padEnd(w + 30)}${count(m)} ${rate(m).padStart(7)}`;
      }),
      `  Sparkplug B (northbound demo-spb), edge node demo/gw, NBIRTHs ${this.births}`,
      ...connIds.flatMap((id) =>
        this.spbDevices(id).map((dev) => {
          const m = this.spb.get(dev);
          return `    ${dev.padEnd(w)}  ${`spBv1.0/demo/DDATA/gw/${dev}`.padEnd(w + 30)}${count(m)} ${rate(m).padStart(7)}  last seq ${m?.seq ?? "—"}`;
        }),
      ),
    ];
    return lines.join("\n");
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
