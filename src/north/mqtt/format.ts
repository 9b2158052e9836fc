import { parseTagPath } from "../../core/paths.ts";
import type { TagData, TagValue } from "../../core/tag-value.ts";
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
  PublishProperties,
  Step,
  SubscribeRequest,
  WriteReply,
} from "../format.ts";
import { isTopicName, loggedValue } from "../format.ts";
import { buildTopics, type Topics } from "./topics.ts";

/**
 * The JSON of one update (docs/north.md "Payload"):
 * `{"value":12.5,"quality":"good","ts":1764470000000,"seq":42}`, plus `"reason"` when the
 * quality is not good and `"replay":true` when it comes from the store-and-forward buffer.
 * `seq` is the producer's (the interface app's) sequence number: with the topic it identifies
 * an update, so a consumer can drop the duplicates a crash may cause.
 */
export interface UpdateJson {
  /** An array tag's value is a JSON array of its elements. */
  value: TagData;
  quality: string;
  reason?: string;
  ts: number;
  seq: number;
  replay?: true;
}

/** The JSON of one update; see {@link UpdateJson}. */
export function updateJson(v: TagValue, replay: boolean): UpdateJson {
  const o: UpdateJson = { value: v.value, quality: v.quality, ts: v.ts, seq: v.seq };
  if (v.quality !== "good" && v.reason !== undefined) o.reason = v.reason;
  if (replay) o.replay = true;
  return o;
}

const JSON_PROPS: PublishProperties = {
  payloadFormatIndicator: true,
  contentType: "application/json",
};

/** Where a write request's result goes. */
interface ReplyTo {
  topic: string;
  correlationData?: Uint8Array;
  id?: unknown;
}

/**
 * The plain MQTT format (`kind = mqtt`): JSON per tag or per batch on the topic template, a
 * retained status topic with its Will, a retained state topic per connection, writes on
 * `…/set`. See {@link buildTopics} for every topic.
 */
export class MqttFormat implements NorthFormat {
  private north: Northbound;
  private topics: Topics;

  constructor(private readonly ctx: FormatContext) {
    this.north = ctx.north;
    this.topics = buildTopics(ctx.north.topic_template, ctx.gateway, ctx.northId);
  }

  beginConnect(): ConnectPlan {
    return { will: this.status("offline"), protocolVersion: 5 };
  }

  subscriptions(): SubscribeRequest[] {
    if (!this.north.writes_enabled || !this.topics.setFilter) return [];
    return [{ filter: this.topics.setFilter, qos: 1, noLocal: true }];
  }

  online(): Step {
    const publish = [this.status("online")];
    for (const c of this.ctx.view.conns().values()) publish.push(this.stateMessage(c));
    return { publish, gate: "open" };
  }

  encode(updates: readonly TagValue[], mode: { historical: boolean }): OutMessage[] {
    const qos = this.north.qos;
    const retain = this.north.retain && !mode.historical;
    if (this.north.payload_layout === "batch") {
      const byTopic = new Map<string, Record<string, unknown>[]>();
      for (const u of updates) {
        const p = parseTagPath(u.path);
        if (p?.kind !== "data") continue;
        const topic = this.topics.batch(p.connId);
        let list = byTopic.get(topic);
        if (!list) {
          list = [];
          byTopic.set(topic, list);
        }
        list.push({ tag: p.tagName, ...updateJson(u, false) });
      }
      return [...byTopic].map(([topic, values]) => ({
        topic,
        payload: JSON.stringify(mode.historical ? { replay: true, values } : { values }),
        qos,
        retain,
        properties: JSON_PROPS,
      }));
    }
    const out: OutMessage[] = [];
    for (const u of updates) {
      const p = parseTagPath(u.path);
      if (p?.kind !== "data") continue;
      out.push({
        topic: this.topics.data(p.connId, p.tagName),
        payload: JSON.stringify(updateJson(u, mode.historical)),
        qos,
        retain,
        properties: JSON_PROPS,
      });
    }
    return out;
  }

  connChanged(conn: ConnState): OutMessage[] {
    return [this.stateMessage(conn)];
  }

  incoming(msg: InMessage): Action[] {
    const origin = `mqtt:${msg.topic}`;
    const req = this.topics.parseSet(msg.topic);
    if (!req) {
      // other traffic under {base}/# (other publishers' data, retained status, replies): not a
      // request, so not a refusal; at warn it would log every message of the broker's subtree
      this.ctx.log.debug({ topic: msg.topic }, "mqtt: ignored: not a write topic");
      return [];
    }
    if (!this.north.writes_enabled)
      return [{ kind: "refuse", reason: "writes_disabled", origin, detail: { path: req.path } }];
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(msg.payload));
    } catch {
      // not JSON: refused below as bad_payload, with a reply
    }
    const isObj = typeof body === "object" && body !== null && !Array.isArray(body);
    const value = isObj ? (body as { value?: unknown }).value : body;
    const id = isObj ? (body as { id?: unknown }).id : undefined;
    const who = msg.properties?.userProperties?.client;
    const from = who ? `${origin} client ${who}` : origin;
    const asked = msg.properties?.responseTopic;
    const badReplyTopic = asked !== undefined && !isTopicName(asked);
    const replyTo: ReplyTo = {
      topic: asked !== undefined && !badReplyTopic ? asked : `${msg.topic}/reply`,
      ...(msg.properties?.correlationData
        ? { correlationData: msg.properties.correlationData }
        : {}),
      ...(id !== undefined ? { id } : {}),
    };
    const refuse = (reason: string): Action[] => [
      {
        kind: "refuse",
        reason,
        origin: from,
        detail: {
          path: req.path,
          value: loggedValue(value),
          ...(badReplyTopic ? { responseTopic: loggedValue(asked) } : {}),
        },
      },
      {
        kind: "publish",
        messages: [this.reply(replyTo, req.path, { ok: false, reason })],
      },
    ];
    // a reply to a wildcard topic would make the broker drop our connection (MQTT 5.0 §3.3.2.3.5)
    if (badReplyTopic) return refuse("bad_response_topic");
    if (!(typeof value === "number" || typeof value === "boolean" || typeof value === "string"))
      return refuse("bad_payload");
    const tag = this.ctx.view.tags().get(req.path);
    if (!tag) return refuse("not_found");
    if (!tag.writable) return refuse("read_only");
    return [{ kind: "write", path: req.path, value, reply: { origin: from, context: replyTo } }];
  }

  writeResult(reply: WriteReply, path: string, result: WriteResult): OutMessage[] {
    return [this.reply(reply.context as ReplyTo, path, result)];
  }

  busGap(gap: BusGap): Step {
    const publish: OutMessage[] = [
      {
        topic: this.topics.gap,
        payload: JSON.stringify(gap),
        qos: this.north.qos === 0 ? 0 : 1,
        retain: false,
        properties: JSON_PROPS,
      },
    ];
    // the resync's current values follow as updates (src/north/pipeline.ts)
    return { publish, gate: "open" };
  }

  reload(north: Northbound): Step {
    this.north = north;
    this.topics = buildTopics(north.topic_template, this.ctx.gateway, this.ctx.northId);
    return { publish: [], gate: "open" };
  }

  goodbye(): OutMessage[] {
    return [this.status("offline")];
  }

  offline(): void {}

  private status(s: "online" | "offline"): OutMessage {
    return { topic: this.topics.status, payload: s, qos: 1, retain: true };
  }

  private stateMessage(c: ConnState): OutMessage {
    const body: Record<string, unknown> = { state: c.appState ?? "UNKNOWN", up: c.up, ts: c.ts };
    if (c.reason) body.reason = c.reason;
    if (c.demoted?.length) body.demoted = c.demoted;
    return {
      topic: this.topics.state(c.connId),
      payload: JSON.stringify(body),
      qos: 1,
      retain: true,
      properties: JSON_PROPS,
    };
  }

  private reply(to: ReplyTo, path: string, result: WriteResult): OutMessage {
    const body: Record<string, unknown> = { path, ...result };
    if (to.id !== undefined) body.id = to.id;
    const properties: PublishProperties = { ...JSON_PROPS };
    if (to.correlationData) properties.correlationData = to.correlationData;
    return { topic: to.topic, payload: JSON.stringify(body), qos: 1, retain: false, properties };
  }
}

/** The {@link import("../format.ts").FormatFactory} of `kind = mqtt`. */
export function createMqttFormat(ctx: FormatContext): NorthFormat {
  return new MqttFormat(ctx);
}
