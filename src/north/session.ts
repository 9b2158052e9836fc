import { readFileSync } from "node:fs";
import type { IClientOptions, MqttClient as MqttClientType, Packet } from "mqtt";
// MQTT.js's client class without its connect helper (see mqtt-stream.ts for why).
import * as clientModule from "mqtt/lib/client";
import { NodiError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import {
  type InMessage,
  isTopicName,
  type OutMessage,
  type PublishProperties,
  type SubscribeRequest,
} from "./format.ts";
import { type StreamTarget, streamBuilder } from "./mqtt-stream.ts";

/**
 * The `MqttClient` class of `mqtt/lib/client`, a CommonJS module with `exports.default =
 * MqttClient`. Bun from source and Bun's bundler (`bun build --compile`) interpret its default
 * import differently: in the executable `import X from "mqtt/lib/client"` gave the exports
 * object ("Object is not a constructor" at every connect), so follow `default` until a class.
 */
const MqttClient = ((
  m: unknown,
): (new (
  ...a: ConstructorParameters<typeof MqttClientType>
) => MqttClientType) => {
  let x = m as { default?: unknown } | undefined;
  for (let i = 0; i < 3 && typeof x !== "function"; i++) x = x?.default as typeof x;
  if (typeof x !== "function") throw new Error("mqtt/lib/client exports no MqttClient class");
  return x as unknown as new (
    ...a: ConstructorParameters<typeof MqttClientType>
  ) => MqttClientType;
})(clientModule);

/** How to reach the broker: one URL of `broker_urls` and the identity. */
export interface SessionOptions {
  url: string;
  clientId: string;
  username?: string | null;
  password?: string | null;
  /** MQTT keep-alive, s (MQTT 5.0 §3.1.2.10). */
  keepaliveS: number;
  tlsCaFile?: string | null;
  tlsCertFile?: string | null;
  tlsKeyFile?: string | null;
  will: OutMessage;
  protocolVersion?: 4 | 5;
  /** Give up a CONNECT after this long, ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** Aborts a pending CONNECT (a stop must not wait for the connect timeout). */
  signal?: AbortSignal;
  /** Send a PINGREQ this long after an unconfirmed QoS 0 message, ms. Default 250. */
  qos0ConfirmMs?: number;
  log: Logger;
  onMessage: (msg: InMessage) => void;
  /** The connection ended (not called after {@link MqttSession.end}). */
  onClose: (reason: string) => void;
}

interface Qos0Wait {
  counter: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * One MQTT session (one CONNECT … DISCONNECT) on MQTT.js v5, with Clean Start and Session
 * Expiry 0, no automatic reconnect (the runtime reconnects, with a new Will each time).
 *
 * {@link publish} resolves when the broker demonstrably has the message (src/north/format.ts
 * "Confirmation"): QoS 1/2 on PUBACK/PUBCOMP; QoS 0 when the broker answered a packet written
 * after it (PINGRESP, PUBACK, SUBACK), using MQTT.js's `packetsend`/`packetreceive` events in
 * write order (MQTT 5.0 §4.6: the server handles one connection's packets in order). It
 * rejects when the session ends first.
 */
export class MqttSession {
  private sent = 0;
  private confirmedBefore = 0;
  private readonly pubCounter = new Map<number, number>();
  private readonly pings: number[] = [];
  private qos0: Qos0Wait[] = [];
  private readonly qos1 = new Set<(e: Error) => void>();
  private pingTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private ending = false;

  private constructor(
    private readonly client: MqttClientType,
    private readonly o: SessionOptions,
  ) {}

  /**
   * Connects and resolves once CONNACK arrived.
   * @throws NodiError `communication` (reason `connect_failed`, `connect_timeout`,
   *   `connect_refused` with the CONNACK reason) when the broker cannot be reached or refuses;
   *   `connect_aborted` when `signal` aborts first.
   */
  static async open(o: SessionOptions): Promise<MqttSession> {
    const opts: IClientOptions = {
      clientId: o.clientId,
      keepalive: o.keepaliveS,
      clean: true,
      protocolVersion: o.protocolVersion ?? 5,
      reconnectPeriod: 0,
      connectTimeout: o.connectTimeoutMs ?? 10_000,
      resubscribe: false,
      will: {
        topic: o.will.topic,
        payload: toBuffer(o.will.payload),
        qos: o.will.qos,
        retain: o.will.retain,
      },
    };
    if ((o.protocolVersion ?? 5) === 5) opts.properties = { sessionExpiryInterval: 0 };
    if (o.username) opts.username = o.username;
    if (o.password) opts.password = o.password;
    const u = new URL(o.url);
    const secure = u.protocol === "mqtts:";
    const target: StreamTarget = {
      secure,
      host: u.hostname.replace(/^\[|\]$/g, ""),
      port: u.port ? Number(u.port) : secure ? 8883 : 1883,
    };
    if (o.tlsCaFile) target.ca = readFileSync(o.tlsCaFile);
    if (o.tlsCertFile) target.cert = readFileSync(o.tlsCertFile);
    if (o.tlsKeyFile) target.key = readFileSync(o.tlsKeyFile);
    const client: MqttClientType = new MqttClient(streamBuilder(target), opts);
    const session = new MqttSession(client, o);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new NodiError(
                "communication",
                `no CONNACK from ${o.url} within ${opts.connectTimeout} ms`,
                "connect_timeout",
              ),
            ),
          opts.connectTimeout,
        );
        const onAbort = () => {
          clearTimeout(timer);
          reject(new NodiError("communication", `connect to ${o.url} aborted`, "connect_aborted"));
        };
        if (o.signal?.aborted) onAbort();
        o.signal?.addEventListener("abort", onAbort, { once: true });
        client.once("connect", () => {
          clearTimeout(timer);
          o.signal?.removeEventListener("abort", onAbort);
          resolve();
        });
        client.on("error", (e) => {
          clearTimeout(timer);
          const code = (e as { code?: number }).code;
          reject(
            new NodiError(
              "communication",
              `${o.url}: ${e.message}`,
              typeof code === "number" ? "connect_refused" : "connect_failed",
              code === undefined ? {} : { code },
            ),
          );
        });
        client.once("close", () => {
          clearTimeout(timer);
          reject(new NodiError("communication", `${o.url}: connection closed`, "connect_failed"));
        });
      });
    } catch (e) {
      client.removeAllListeners();
      client.on("error", () => {});
      client.end(true);
      throw e;
    }
    session.wire();
    return session;
  }

  /** True until the session ended. */
  get connected(): boolean {
    return !this.closed;
  }

  /** Messages published and not yet confirmed. */
  get unconfirmed(): number {
    return this.qos0.length + this.qos1.size + this.queued.filter((q) => q.qos === 0).length;
  }

  private wire(): void {
    const c = this.client;
    c.removeAllListeners("error");
    c.removeAllListeners("close");
    c.on("error", (e) => {
      this.o.log.debug({ err: e.message }, "mqtt client error");
      this.lastError = e.message;
    });
    c.on("close", () => this.onClosed(this.lastError ?? "connection closed"));
    c.on("packetsend", (p: Packet) => {
      this.sent++;
      if (p.cmd === "pingreq") this.pings.push(this.sent);
      else if (p.cmd === "publish" && p.qos > 0 && p.messageId !== undefined)
        this.pubCounter.set(p.messageId, this.sent);
      else if (p.cmd === "subscribe" && p.messageId !== undefined)
        this.pubCounter.set(p.messageId, this.sent);
    });
    c.on("packetreceive", (p: Packet) => {
      let counter: number | undefined;
      if (p.cmd === "pingresp") counter = this.pings.shift();
      else if (
        (p.cmd === "puback" || p.cmd === "pubrec" || p.cmd === "suback") &&
        p.messageId !== undefined
      ) {
        counter = this.pubCounter.get(p.messageId);
        if (p.cmd !== "pubrec") this.pubCounter.delete(p.messageId);
      }
      if (counter !== undefined && counter > this.confirmedBefore) {
        this.confirmedBefore = counter;
        this.confirmQos0();
      }
    });
    c.on("message", (topic, payload, packet) => {
      const props = packet.properties;
      const properties: InMessage["properties"] = {};
      if (props?.responseTopic) properties.responseTopic = props.responseTopic;
      if (props?.correlationData)
        properties.correlationData = new Uint8Array(props.correlationData);
      if (props?.userProperties) {
        const up: Record<string, string> = {};
        for (const [k, v] of Object.entries(props.userProperties))
          up[k] = Array.isArray(v) ? String(v[0]) : String(v);
        properties.userProperties = up;
      }
      try {
        this.o.onMessage({
          topic,
          payload: new Uint8Array(payload),
          retain: packet.retain,
          properties,
        });
      } catch (e) {
        this.o.log.error({ err: String(e), topic }, "north: handling an incoming message failed");
      }
    });
  }

  private lastError: string | undefined;

  /**
   * Subscribes and resolves on SUBACK.
   * @throws NodiError `communication` when the broker refuses a filter or the session ends.
   */
  async subscribe(reqs: SubscribeRequest[]): Promise<void> {
    if (reqs.length === 0) return;
    await new Promise<void>((resolve, reject) => {
      this.client.subscribe(
        reqs
          .map((r) => ({ topic: r.filter, qos: r.qos, nl: r.noLocal ?? false }))
          .reduce(
            (acc, r) => {
              acc[r.topic] = { qos: r.qos, nl: r.nl };
              return acc;
            },
            {} as Record<string, { qos: 0 | 1 | 2; nl: boolean }>,
          ),
        (err, granted) => {
          if (err) return reject(new NodiError("communication", err.message, "subscribe_failed"));
          const bad = (granted ?? []).filter((g) => g.qos > 2);
          if (bad.length)
            return reject(
              new NodiError(
                "communication",
                `broker refused subscription ${bad.map((b) => b.topic).join(", ")}`,
                "subscribe_refused",
              ),
            );
          resolve();
        },
      );
    });
  }

  /**
   * Publishes one message; resolves when it is confirmed (see the class comment).
   * @throws NodiError `communication` (reason `disconnected`) when the session ends first.
   */
  publish(m: OutMessage): Promise<void> {
    if (this.closed)
      return Promise.reject(new NodiError("communication", "not connected", "disconnected"));
    // a PUBLISH to a wildcard or empty topic is a protocol error: the broker would drop the session
    if (!isTopicName(m.topic))
      return Promise.reject(
        new NodiError(
          "configuration",
          `not a valid MQTT topic name: ${JSON.stringify(m.topic.slice(0, 200))}`,
          "bad_topic",
        ),
      );
    const opts: Parameters<MqttClientType["publish"]>[2] = { qos: m.qos, retain: m.retain };
    if (m.properties) opts.properties = toMqttProps(m.properties);
    if (m.qos === 0) {
      return new Promise<void>((resolve, reject) => {
        const send = () => {
          this.client.publish(m.topic, toBuffer(m.payload), opts);
          this.qos0.push({ counter: this.sent, resolve, reject });
          this.schedulePing();
        };
        // behind queued QoS 1 messages: keep the order of the calls on the wire
        if (this.queued.length) this.queued.push({ qos: 0, send, reject });
        else send();
      });
    }
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (e: Error) => {
        if (settled) return;
        settled = true;
        this.qos1.delete(fail);
        reject(e);
      };
      this.qos1.add(fail);
      const send = () => {
        this.inflight++;
        if (this.inflight > this.maxInflightSeen) this.maxInflightSeen = this.inflight;
        this.client.publish(m.topic, toBuffer(m.payload), opts, (err) => {
          this.inflight--;
          this.scheduleDrain();
          if (settled) return;
          if (err) return fail(new NodiError("communication", err.message, "disconnected"));
          settled = true;
          this.qos1.delete(fail);
          resolve();
        });
      };
      if (this.queued.length || this.inflight >= this.receiveMaximum)
        this.queued.push({ qos: 1, send, reject: fail });
      else send();
    });
  }

  /**
   * The broker's Receive Maximum (MQTT 5.0 §3.2.2.3.3, from CONNACK; 65535 when absent or with
   * MQTT 3.1.1): at most this many QoS 1/2 PUBLISH unacknowledged. MQTT.js does not enforce it
   * for outgoing messages, and brokers that do (HiveMQ, EMQX) disconnect a client that sends more.
   */
  get receiveMaximum(): number {
    const rm = (
      this.client as unknown as { connackPacket?: { properties?: { receiveMaximum?: number } } }
    ).connackPacket?.properties?.receiveMaximum;
    return typeof rm === "number" && rm > 0 ? rm : 65535;
  }

  /** The most QoS 1/2 messages unacknowledged at once in this session (≤ {@link receiveMaximum}). */
  maxInflightSeen = 0;
  private inflight = 0;
  private queued: { qos: 0 | 1; send: () => void; reject: (e: Error) => void }[] = [];

  private drainScheduled = false;

  /**
   * Sends the queued messages that fit the window once per event-loop turn, not once per
   * PUBACK: MQTT.js handles each incoming packet in its own tick and writes each PUBLISH with
   * its own socket write, so refilling one slot per PUBACK cost one write(2) per message (the
   * largest cost of ne-north under load, docs/performance.md). After all PUBACKs of one socket
   * read are handled, the freed slots are filled together and MQTT.js's cork coalesces them
   * into one write. The window (Receive Maximum) and the order are unchanged.
   */
  private scheduleDrain(): void {
    if (this.drainScheduled || this.queued.length === 0) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.drainQueue();
    });
  }

  private drainQueue(): void {
    while (this.queued.length && !this.closed) {
      const next = this.queued[0]!;
      if (next.qos > 0 && this.inflight >= this.receiveMaximum) return;
      this.queued.shift();
      next.send();
    }
  }

  /**
   * Publishes `goodbye` (awaiting QoS 1 ones up to `timeoutMs`), then DISCONNECT (reason 0:
   * the broker discards the Will) and closes.
   */
  async end(goodbye: OutMessage[], timeoutMs = 2000): Promise<void> {
    if (this.closed) return;
    this.ending = true;
    const acks = goodbye.map((m) => this.publish(m).catch(() => {}));
    await Promise.race([Promise.all(acks), Bun.sleep(timeoutMs)]);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.client.end(false, {}, () => {
        clearTimeout(t);
        resolve();
      });
    });
    this.onClosed("disconnected on request");
  }

  /** Drops the connection without DISCONNECT (the broker publishes the Will). */
  destroy(): void {
    if (this.closed) return;
    this.ending = true;
    this.client.end(true);
    this.onClosed("closed");
  }

  private schedulePing(): void {
    if (this.pingTimer) return;
    this.pingTimer = setTimeout(() => {
      this.pingTimer = undefined;
      if (this.closed || this.qos0.length === 0) return;
      const last = this.qos0[this.qos0.length - 1]!.counter;
      const lastPing = this.pings[this.pings.length - 1] ?? 0;
      if (lastPing <= last) (this.client as unknown as { sendPing(): void }).sendPing();
      this.schedulePing();
    }, this.o.qos0ConfirmMs ?? 250);
  }

  private confirmQos0(): void {
    let n = 0;
    while (n < this.qos0.length && this.qos0[n]!.counter < this.confirmedBefore) n++;
    if (n === 0) return;
    const done = this.qos0.splice(0, n);
    for (const w of done) w.resolve();
  }

  private onClosed(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pingTimer) clearTimeout(this.pingTimer);
    const err = new NodiError("communication", `connection lost: ${reason}`, "disconnected");
    for (const w of this.qos0.splice(0)) w.reject(err);
    for (const q of this.queued.splice(0)) q.reject(err);
    for (const f of [...this.qos1]) f(err);
    this.client.removeAllListeners("packetreceive");
    this.client.removeAllListeners("message");
    if (!this.client.disconnecting && !this.client.disconnected) this.client.end(true);
    if (!this.ending) this.o.onClose(reason);
  }
}

function toBuffer(p: Uint8Array | string): Buffer {
  return typeof p === "string"
    ? Buffer.from(p, "utf8")
    : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

function toMqttProps(
  p: PublishProperties,
): NonNullable<Parameters<MqttClientType["publish"]>[2]>["properties"] {
  const o: Record<string, unknown> = {};
  if (p.payloadFormatIndicator !== undefined) o.payloadFormatIndicator = p.payloadFormatIndicator;
  if (p.contentType) o.contentType = p.contentType;
  if (p.responseTopic) o.responseTopic = p.responseTopic;
  if (p.correlationData) o.correlationData = Buffer.from(p.correlationData);
  if (p.messageExpiryInterval !== undefined) o.messageExpiryInterval = p.messageExpiryInterval;
  if (p.userProperties) o.userProperties = p.userProperties;
  return o;
}
