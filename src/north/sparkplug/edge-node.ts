import { NodiError } from "../../core/errors.ts";
import type { Quality } from "../../core/quality.ts";
import type { TagValue } from "../../core/tag-value.ts";
import type { Northbound } from "../../store/northbound-schema.ts";
import type { WriteResult } from "../../tagbus/tagbus.ts";
import type {
  Action,
  BusGap,
  ConnectPlan,
  ConnState,
  FormatContext,
  InMessage,
  NorthFormat,
  OutMessage,
  Step,
  SubscribeRequest,
  TagInfo,
  WriteReply,
} from "../format.ts";
import { deviceUp } from "../format.ts";
import { type BdSeqStore, nextBdSeq } from "./bdseq.ts";
import { decodePayload, encodePayload, type Metric, type Payload, typedValue } from "./codec.ts";
import { DataType, dataTypeName } from "./datatypes.ts";
import { metricDataType, toTagScalar, valueMetric } from "./metrics.ts";
import { deviceTopic, nodeTopic, parseTopic, sparkplugDeviceId, stateTopic } from "./topics.ts";

/** Name of the node control metric a host writes to ask for a rebirth (Sparkplug 3.0 §6.4.14 / §5.14). */
export const REBIRTH_METRIC = "Node Control/Rebirth";
/** Name of the birth/death sequence metric (§6.4.2 / §5.2). */
export const BDSEQ_METRIC = "bdSeq";
/** Most metrics in one DDATA; a larger batch of one device is split over several messages. */
export const MAX_METRICS_PER_MESSAGE = 1000;

/** One Sparkplug device of this edge node: a Nodi device (a connection, or a device on its link). */
interface Device {
  id: string;
  connId: string;
  /** The device on the connection's link; undefined = the connection's only device. */
  device?: string;
  tags: TagInfo[];
}

/** Per-MQTT-session state, reset by `offline()`. */
interface Session {
  /** `online()` was called: subscribed, births may go out when the gate opens. */
  up: boolean;
  open: boolean;
  /** The seq of the last message sent (NBIRTH sets 0). */
  seq: number;
  /** Sparkplug device ids with a DBIRTH in this session and no DDEATH since. */
  born: Set<string>;
  /** Last quality published per tag path in this session (for the Quality = 192 reset). */
  quality: Map<string, Quality>;
}

const newSession = (): Session => ({
  up: false,
  open: false,
  seq: -1,
  born: new Set(),
  quality: new Map(),
});

/**
 * The Sparkplug B 3.0 edge node (Eclipse Sparkplug 3.0, chapters 4–6) as a {@link NorthFormat}:
 * the gateway is one edge node `spBv1.0/{group_id}/…/{edge_node_id}`, each Nodi device a
 * Sparkplug device (device_id: {@link sparkplugDeviceId}), each selected tag a metric.
 * Pure session logic: no I/O except the {@link BdSeqStore} it is given. See docs/north.md
 * "Sparkplug B" for the behaviour as a user sees it.
 *
 * - CONNECT: MQTT 3.1.1 with Clean Session (§5.1, tck-id-message-flow-edge-node-birth-publish-connect);
 *   3.1.1 rather than 5.0 because on an intentional disconnect Sparkplug asks a 5.0 client for
 *   "Disconnect with Will Message" but a 3.1.1 client for a published NDEATH, and the
 *   runtime's goodbye is a publish. The Will is NDEATH, QoS 1, retain false, payload only
 *   `bdSeq` (Int64), no seq; bdSeq +1 per CONNECT, persisted before the CONNECT.
 * - Births: NBIRTH (seq 0, `bdSeq` = the Will's, `Node Control/Rebirth` = false without an
 *   alias), then a DBIRTH per device whose connection is up, every metric with name, alias,
 *   datatype, timestamp and current value (or is_null + Quality).
 * - Data: DDATA per device, aliases only, every update in bus order (chronological), QoS 0.
 *   Historical (replayed) updates carry `is_historical = true` and their own timestamps.
 * - seq: 0–255 over every message of the node except NDEATH.
 * - Primary host (`primary_host_id`): births only after `spBv1.0/STATE/{host}` says online
 *   with a timestamp ≥ the last one seen; a valid offline STATE stops data and reconnects.
 */
export class SparkplugEdgeNode implements NorthFormat {
  private north: Northbound;
  private readonly group: string;
  private readonly node: string;
  private readonly host: string | undefined;
  private bdSeq = 0;
  private session = newSession();
  /** Aliases by tag path: unique across the node, kept for the life of the process. */
  private readonly aliases = new Map<string, number>();
  private nextAlias = 1;
  /** Devices as of the last birth, by Sparkplug device id. */
  private devices = new Map<string, Device>();
  /** The primary host's last valid STATE (kept across sessions, §5.2 …-phid-wait-timestamp). */
  private hostTs: number | undefined;
  private hostOnline = false;

  constructor(
    private readonly ctx: FormatContext,
    private readonly bdSeqStore: BdSeqStore,
  ) {
    this.north = ctx.north;
    if (!ctx.north.group_id)
      throw new NodiError(
        "configuration",
        `northbound ${ctx.northId}: kind sparkplug needs a group_id`,
        "configuration",
      );
    this.group = ctx.north.group_id;
    this.node = ctx.north.edge_node_id ?? ctx.gateway;
    this.host = ctx.north.primary_host_id ?? undefined;
  }

  /** The bdSeq of the current (or last) CONNECT. */
  get currentBdSeq(): number {
    return this.bdSeq;
  }

  beginConnect(): ConnectPlan {
    this.bdSeq = nextBdSeq(this.bdSeqStore.load());
    this.bdSeqStore.save(this.bdSeq);
    return { will: this.ndeath(), protocolVersion: 4 };
  }

  subscriptions(): SubscribeRequest[] {
    const subs: SubscribeRequest[] = [
      { filter: nodeTopic(this.group, "NCMD", this.node), qos: 1 },
      {
        filter: deviceTopic(this.group, "DCMD", this.node, "+"),
        qos: 1,
      },
    ];
    if (this.host) subs.push({ filter: stateTopic(this.host), qos: 1 });
    return subs;
  }

  online(): Step {
    this.session.up = true;
    if (this.host && !this.hostOnline) return { publish: [], gate: "held" };
    return { publish: this.births(), gate: "open" };
  }

  encode(updates: readonly TagValue[], mode: { historical: boolean }): OutMessage[] {
    if (!this.session.open) return [];
    const tags = this.ctx.view.tags();
    const conns = this.ctx.view.conns();
    const now = this.ctx.now();
    const out: OutMessage[] = [];
    const byDevice = new Map<string, Metric[]>();
    for (const u of updates) {
      const info = tags.get(u.path);
      const alias = this.aliases.get(u.path);
      if (!info || alias === undefined) continue; // not in the birth: the next rebirth adds it
      const id = sparkplugDeviceId(info.connId, info.device);
      if (!this.session.born.has(id)) {
        // A device born late (its connection came up before connChanged reached us).
        if (!deviceUp(conns.get(info.connId), info.device) || !this.devices.has(id)) {
          if (mode.historical) this.dropHistorical(id);
          continue;
        }
        out.push(this.dbirth(this.devices.get(id)!, now));
      }
      const t = metricDataType(info);
      const prev = mode.historical ? undefined : this.session.quality.get(u.path);
      const { metric, quality } = valueMetric(t, u, prev, now);
      if (!mode.historical) this.session.quality.set(u.path, quality);
      metric.alias = alias;
      metric.valueType = t;
      if (mode.historical) metric.isHistorical = true;
      let list = byDevice.get(id);
      if (!list) {
        list = [];
        byDevice.set(id, list);
      }
      list.push(metric);
    }
    for (const [id, metrics] of byDevice)
      for (let i = 0; i < metrics.length; i += MAX_METRICS_PER_MESSAGE)
        out.push(
          this.message(deviceTopic(this.group, "DDATA", this.node, id), {
            timestamp: now,
            metrics: metrics.slice(i, i + MAX_METRICS_PER_MESSAGE),
          }),
        );
    return out;
  }

  connChanged(conn: ConnState, _prev: ConnState | undefined): OutMessage[] {
    if (!this.session.open) return [];
    const now = this.ctx.now();
    const out: OutMessage[] = [];
    for (const d of this.devices.values()) {
      if (d.connId !== conn.connId) continue;
      const born = this.session.born.has(d.id);
      // A demoted device (auto-demotion: not answering, not polled) is dead like a lost link.
      const up = deviceUp(conn, d.device);
      if (up && !born) out.push(this.dbirth(d, now));
      else if (!up && born) {
        this.session.born.delete(d.id);
        // tck-id-operational-behavior-device-ddeath: DDEATH on behalf of a device whose link dropped.
        out.push(
          this.message(deviceTopic(this.group, "DDEATH", this.node, d.id), {
            timestamp: now,
            metrics: [],
          }),
        );
      }
    }
    return out;
  }

  incoming(msg: InMessage): Action[] {
    const topic = parseTopic(msg.topic, this.group, this.node);
    const origin = `sparkplug ${msg.topic}`;
    switch (topic.kind) {
      case "STATE":
        return this.onState(topic.host, msg.payload, origin);
      case "NCMD":
        return this.onNcmd(msg.payload, origin);
      case "DCMD":
        return this.onDcmd(topic.device, msg.payload, origin, msg.topic);
      default:
        return [{ kind: "refuse", reason: "not a topic of this edge node", origin }];
    }
  }

  writeResult(_reply: WriteReply, _path: string, _result: WriteResult): OutMessage[] {
    // Sparkplug has no command reply: the written value arrives as DDATA when the device has it.
    return [];
  }

  busGap(_gap: BusGap): Step {
    // The host's values may be missing updates: a rebirth gives it every current value.
    return this.rebirthStep();
  }

  reload(north: Northbound): Step {
    this.north = north;
    return this.rebirthStep();
  }

  goodbye(): OutMessage[] {
    // tck-id-payloads-ndeath-will-message-publisher-disconnect-mqtt311: NDEATH before DISCONNECT.
    return this.session.up ? [this.ndeath()] : [];
  }

  offline(): void {
    this.session = newSession();
    this.hostOnline = false;
    this.droppedLogged.clear();
  }

  /**
   * Historical updates dropped because their device was not born (its connection down at
   * replay time: a device without DBIRTH has no DDATA), since the process started.
   */
  get droppedHistorical(): number {
    return this.droppedHist;
  }

  private droppedHist = 0;
  private readonly droppedLogged = new Set<string>();

  private dropHistorical(deviceId: string): void {
    this.droppedHist++;
    if (this.droppedLogged.has(deviceId)) return;
    this.droppedLogged.add(deviceId);
    this.ctx.log.warn(
      { device: deviceId },
      "sparkplug: historical updates of a device whose connection is down are dropped (no DDATA without DBIRTH)",
    );
  }

  // ---- births and messages ------------------------------------------------------------

  private rebirthStep(): Step {
    if (!this.session.up) return { publish: [], gate: "held" };
    if (!this.session.open) return { publish: [], gate: "held" };
    return { publish: this.births(), gate: "open" };
  }

  /** NBIRTH (seq 0) and a DBIRTH for every device whose connection is up; opens the session. */
  private births(): OutMessage[] {
    const now = this.ctx.now();
    this.session.open = true;
    this.session.born.clear();
    this.session.quality.clear();
    this.session.seq = -1;
    this.devices = this.collectDevices();
    const out: OutMessage[] = [
      this.message(nodeTopic(this.group, "NBIRTH", this.node), {
        timestamp: now,
        metrics: [
          {
            name: BDSEQ_METRIC,
            datatype: DataType.Int64,
            timestamp: now,
            value: BigInt(this.bdSeq),
          },
          // tck-id-operational-behavior-data-commands-rebirth-name-aliases: no alias.
          { name: REBIRTH_METRIC, datatype: DataType.Boolean, timestamp: now, value: false },
        ],
      }),
    ];
    const conns = this.ctx.view.conns();
    for (const d of this.devices.values())
      if (deviceUp(conns.get(d.connId), d.device)) out.push(this.dbirth(d, now));
    return out;
  }

  private collectDevices(): Map<string, Device> {
    const devices = new Map<string, Device>();
    const tags = [...this.ctx.view.tags().values()].sort((a, b) =>
      a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
    );
    for (const t of tags) {
      const id = sparkplugDeviceId(t.connId, t.device);
      let d = devices.get(id);
      if (!d) {
        d = {
          id,
          connId: t.connId,
          ...(t.device !== undefined ? { device: t.device } : {}),
          tags: [],
        };
        devices.set(id, d);
      }
      d.tags.push(t);
      if (!this.aliases.has(t.path)) this.aliases.set(t.path, this.nextAlias++);
    }
    for (const d of devices.values()) this.warnCaseCollisions(d);
    return devices;
  }

  private readonly caseWarned = new Set<string>();

  /** tck-id-case-sensitivity-metric-names (SHOULD NOT): names of one device equal in lower case. */
  private warnCaseCollisions(d: Device): void {
    const seen = new Map<string, string>();
    for (const t of d.tags) {
      const k = t.name.toLowerCase();
      const other = seen.get(k);
      seen.set(k, t.name);
      if (other === undefined || this.caseWarned.has(`${d.id}/${k}`)) continue;
      this.caseWarned.add(`${d.id}/${k}`);
      this.ctx.log.warn(
        { device: d.id, metrics: [other, t.name] },
        "sparkplug: two metric names of one device differ only in case; some host applications cannot tell them apart",
      );
    }
  }

  private dbirth(d: Device, now: number): OutMessage {
    const current = this.ctx.view.current();
    const metrics: Metric[] = d.tags.map((t) => {
      const datatype = metricDataType(t);
      const { metric, quality } = valueMetric(datatype, current.get(t.path), undefined, now);
      this.session.quality.set(t.path, quality);
      return { name: t.name, alias: this.aliases.get(t.path)!, datatype, ...metric };
    });
    this.session.born.add(d.id);
    return this.message(deviceTopic(this.group, "DBIRTH", this.node, d.id), {
      timestamp: now,
      metrics,
    });
  }

  /** A node message with the next seq (0–255, tck-id-payloads-sequence-num-incrementing), QoS 0, retain false. */
  private message(topic: string, p: Payload): OutMessage {
    this.session.seq = (this.session.seq + 1) % 256;
    return {
      topic,
      payload: encodePayload({ ...p, seq: this.session.seq }),
      qos: 0,
      retain: false,
    };
  }

  /** NDEATH: QoS 1, retain false, only the bdSeq metric, no seq (§6.4.11). */
  private ndeath(): OutMessage {
    const now = this.ctx.now();
    return {
      topic: nodeTopic(this.group, "NDEATH", this.node),
      payload: encodePayload({
        timestamp: now,
        metrics: [
          {
            name: BDSEQ_METRIC,
            datatype: DataType.Int64,
            timestamp: now,
            value: BigInt(this.bdSeq),
          },
        ],
      }),
      qos: 1,
      retain: false,
    };
  }

  // ---- incoming -----------------------------------------------------------------------

  private onState(host: string, payload: Uint8Array, origin: string): Action[] {
    if (host !== this.host)
      // tck-id-message-flow-edge-node-birth-publish-phid-wait-id
      return [{ kind: "refuse", reason: `STATE of host ${host}, not the primary host`, origin }];
    let state: { online?: unknown; timestamp?: unknown };
    try {
      state = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
    } catch {
      return [{ kind: "refuse", reason: "STATE payload is not JSON", origin }];
    }
    if (
      typeof state !== "object" ||
      state === null ||
      typeof state.online !== "boolean" ||
      typeof state.timestamp !== "number"
    )
      return [
        {
          kind: "refuse",
          reason: 'STATE payload must be {"online": boolean, "timestamp": number}',
          origin,
        },
      ];
    // tck-id-message-flow-edge-node-birth-publish-phid-wait-timestamp /
    // tck-id-operational-behavior-edge-node-termination-host-offline-timestamp: an older STATE is ignored.
    if (this.hostTs !== undefined && state.timestamp < this.hostTs)
      return [
        {
          kind: "refuse",
          reason: `STATE older than the last one seen (timestamp ${state.timestamp} < ${this.hostTs}): ignored`,
          origin,
        },
      ];
    this.hostTs = state.timestamp;
    if (state.online) {
      this.hostOnline = true;
      if (this.session.up && !this.session.open)
        return [{ kind: "open", publish: this.births(), reason: `primary host ${host} online` }];
      return [];
    }
    this.hostOnline = false;
    if (this.session.open) {
      // tck-id-message-flow-edge-node-birth-publish-phid-offline: stop data, NDEATH, disconnect, start over.
      this.session.open = false;
      return [
        { kind: "hold", reason: `primary host ${host} offline` },
        { kind: "reconnect", reason: `primary host ${host} offline` },
      ];
    }
    return [];
  }

  private decode(payload: Uint8Array, origin: string): Payload | Action {
    try {
      return decodePayload(payload);
    } catch (e) {
      return {
        kind: "refuse",
        reason: `not a Sparkplug B payload: ${(e as Error).message}`,
        origin,
      };
    }
  }

  private onNcmd(payload: Uint8Array, origin: string): Action[] {
    const p = this.decode(payload, origin);
    if ("kind" in p) return [p];
    const out: Action[] = [];
    let rebirth = false;
    for (const m of p.metrics) {
      if (m.name !== REBIRTH_METRIC) {
        out.push({
          kind: "refuse",
          reason: `unknown node metric ${m.name ?? `alias ${m.alias}`}`,
          origin,
        });
        continue;
      }
      let v: unknown;
      try {
        v = typedValue(DataType.Boolean, m);
      } catch (e) {
        out.push({ kind: "refuse", reason: `${REBIRTH_METRIC}: ${(e as Error).message}`, origin });
        continue;
      }
      if (v !== true) {
        out.push({ kind: "refuse", reason: `${REBIRTH_METRIC} must be true`, origin });
        continue;
      }
      rebirth = true;
    }
    if (rebirth) {
      if (!this.session.open)
        out.push({ kind: "refuse", reason: "rebirth while waiting for the primary host", origin });
      // tck-id-operational-behavior-data-commands-rebirth-action-1..3: births, same bdSeq.
      else out.push({ kind: "publish", messages: this.births() });
    }
    return out;
  }

  private onDcmd(deviceId: string, payload: Uint8Array, origin: string, topic: string): Action[] {
    const device = this.devices.get(deviceId);
    if (!device || !this.session.born.has(deviceId))
      return [{ kind: "refuse", reason: `device ${deviceId} is not online`, origin }];
    const p = this.decode(payload, origin);
    if ("kind" in p) return [p];
    const byAlias = new Map<number, TagInfo>();
    const byName = new Map<string, TagInfo>();
    for (const t of device.tags) {
      byAlias.set(this.aliases.get(t.path)!, t);
      byName.set(t.name, t);
    }
    const out: Action[] = [];
    for (const m of p.metrics) {
      const label = m.name ?? `alias ${m.alias}`;
      const tag =
        m.alias !== undefined
          ? byAlias.get(m.alias)
          : m.name !== undefined
            ? byName.get(m.name)
            : undefined;
      if (!tag) {
        out.push({
          kind: "refuse",
          reason: `unknown metric ${label} of device ${deviceId}`,
          origin,
        });
        continue;
      }
      const detail = { path: tag.path, metric: tag.name };
      if (!this.north.writes_enabled) {
        out.push({
          kind: "refuse",
          reason: "writes from the north are disabled (writes_enabled)",
          origin,
          detail,
        });
        continue;
      }
      if (!tag.writable) {
        out.push({ kind: "refuse", reason: `metric ${tag.name} is read-only`, origin, detail });
        continue;
      }
      const datatype = metricDataType(tag);
      let value: ReturnType<typeof typedValue>;
      try {
        value = typedValue(datatype, m);
      } catch (e) {
        out.push({
          kind: "refuse",
          reason: `metric ${tag.name} is a ${dataTypeName(datatype)}: ${(e as Error).message}`,
          origin,
          detail,
        });
        continue;
      }
      if (value === undefined) {
        out.push({ kind: "refuse", reason: `metric ${tag.name}: no value`, origin, detail });
        continue;
      }
      out.push({
        kind: "write",
        path: tag.path,
        value: toTagScalar(value),
        reply: { origin, context: { topic, metric: tag.name } },
      });
    }
    return out;
  }
}
