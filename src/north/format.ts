import type { Logger } from "../core/log.ts";
import type { TagScalar, TagValue } from "../core/tag-value.ts";
import type { Northbound } from "../store/northbound-schema.ts";
import type { DataType } from "../store/schema.ts";
import type { WriteResult } from "../tagbus/tagbus.ts";

/**
 * The format seam of `ne-north`: what a northbound format (plain MQTT, Sparkplug B 3.0)
 * implements, and what the runtime (`src/north/runtime*.ts`) does around it.
 *
 * Division of work:
 * - The **runtime** owns every resource and all I/O: the MQTT client (MQTT.js v5), the
 *   durable TagBus subscription and its cursor, the on-disk store-and-forward buffer, health
 *   tags, TagBus writes, reconnects and back-off, the report mode (`min_interval_ms`,
 *   `refresh_interval_ms`). It never builds a topic or a payload itself.
 * - A **format** is synchronous and does no I/O except, where it needs state that must survive
 *   a restart (Sparkplug `bdSeq`), small files under {@link FormatContext.dataDir}. It turns
 *   session events and tag updates into {@link OutMessage}s and incoming messages into
 *   {@link Action}s. It may keep session state (Sparkplug `seq`, births done, aliases).
 *
 * One MQTT session, in the order the runtime calls the format:
 * 1. {@link NorthFormat.beginConnect} before every CONNECT attempt (the Will).
 *    The runtime always connects with Clean Start = 1 and Session Expiry Interval = 0
 *    (Sparkplug 3.0 §7.1 requires a clean session; for plain MQTT our durability is the
 *    cursor and the buffer, not a broker session).
 * 2. After CONNACK: {@link NorthFormat.subscriptions}, subscribed and SUBACKed before step 3,
 *    so a STATE or command that the broker holds retained is not missed.
 * 3. {@link NorthFormat.online}: the first messages (status `online`; NBIRTH + DBIRTHs) and the
 *    gate: `open` (data may flow) or `held` (e.g. waiting for the primary host's STATE).
 * 4. While open: {@link NorthFormat.encode} for live updates and, interleaved at a bounded
 *    rate, historical ones (the buffer, the unconfirmed window of the previous session);
 *    {@link NorthFormat.connChanged} when a connection's app/link state changes;
 *    {@link NorthFormat.incoming} for every received message (also while held);
 *    {@link NorthFormat.busGap} when the TagBus reports lost updates.
 * 5. {@link NorthFormat.goodbye} before an intentional DISCONNECT (SIGTERM, restart, reconnect
 *    to another server); then {@link NorthFormat.offline}. When the connection is lost, only
 *    {@link NorthFormat.offline} (the broker publishes the Will).
 *
 * **Confirmation** (how the cursor moves, docs/north.md "Delivery"): the updates handed to one
 * `encode` call count as delivered when every message it returned is confirmed:
 * - QoS 1: its PUBACK (MQTT 5.0 §4.3.2); QoS 2: its PUBCOMP (§4.3.3).
 * - QoS 0: the broker answered a packet sent after it on the same connection (a PINGRESP, a
 *   PUBACK, a SUBACK). The server processes one connection's packets in order (MQTT 5.0 §4.6),
 *   so an answer to a later packet proves it read the earlier PUBLISH. The runtime sends a
 *   PINGREQ when QoS 0 messages wait for confirmation (within about 1 s), so a dead TCP link
 *   costs at most that window, not 1.5 × the keep-alive.
 * - `encode` returning `[]` (e.g. every update filtered out) confirms its updates at once.
 * - Updates not confirmed when the connection drops are sent again after the next
 *   `online`, through `encode(…, { historical: true })`: a consumer may see them twice
 *   (bounded; docs/north.md "Duplicates"), never not at all.
 *
 * Retained messages a format asks for (status, per-connection state) are confirmed like any
 * other, but they carry no updates, so nothing waits on them.
 */

/** MQTT quality of service level (MQTT 5.0 §4.3). */
export type Qos = 0 | 1 | 2;

/** MQTT 5 PUBLISH properties a format may set (MQTT 5.0 §3.3.2.3). */
export interface PublishProperties {
  /** §3.3.2.3.2: `true` = the payload is UTF-8 text. */
  payloadFormatIndicator?: boolean;
  /** §3.3.2.3.9, e.g. `application/json`. */
  contentType?: string;
  /** §3.3.2.3.5: where the receiver should send a reply. */
  responseTopic?: string;
  /** §3.3.2.3.6: echoed in the reply, opaque bytes. */
  correlationData?: Uint8Array;
  /** §3.3.2.3.3, s. */
  messageExpiryInterval?: number;
  /** §3.3.2.3.7 */
  userProperties?: Record<string, string>;
}

/** One PUBLISH the runtime sends for a format. */
export interface OutMessage {
  topic: string;
  /** A string is sent as UTF-8. */
  payload: Uint8Array | string;
  qos: Qos;
  retain: boolean;
  properties?: PublishProperties;
}

/** One PUBLISH received on a topic of {@link NorthFormat.subscriptions}. */
export interface InMessage {
  topic: string;
  payload: Uint8Array;
  /** The RETAIN flag as received (a retained message delivered on subscribe, MQTT 5.0 §3.3.1.3). */
  retain: boolean;
  /** MQTT 5 properties of the request, when the sender set them. */
  properties?: Pick<PublishProperties, "responseTopic" | "correlationData" | "userProperties">;
}

/** A topic filter to subscribe after CONNACK. */
export interface SubscribeRequest {
  /** MQTT topic filter (wildcards `+`, `#`, MQTT 5.0 §4.7). */
  filter: string;
  qos: Qos;
  /** MQTT 5 No Local (§3.8.3.1): do not deliver our own publishes back to us. Default false. */
  noLocal?: boolean;
}

/** What {@link NorthFormat.beginConnect} returns for the next CONNECT. */
export interface ConnectPlan {
  /**
   * The Will (MQTT 5.0 §3.1.2.5): published by the broker when the connection ends without a
   * DISCONNECT. Plain MQTT: the retained status `offline`. Sparkplug: NDEATH (QoS 1, retain
   * false, payload only `bdSeq`).
   */
  will: OutMessage;
  /** MQTT protocol version: 5 (default) or 4 (3.1.1). */
  protocolVersion?: 4 | 5;
}

/**
 * Whether data may flow. `held`: the runtime publishes no updates (they stay behind the
 * cursor and go to the buffer as during an outage) until an {@link Action} `open` arrives;
 * incoming messages are still handed to the format.
 */
export type Gate = "open" | "held";

/** Messages to publish now, and the gate afterwards. */
export interface Step {
  /** Published in this order, before any update. */
  publish: OutMessage[];
  gate: Gate;
}

/**
 * A tag's definition from the SoT, for the tags the northbound's `tag_selection` selects.
 * A tag of a connection's default device has `device` undefined (the Sparkplug device is the
 * connection); a tag of a named device on a multi-device link (issue 14,
 * `/{conn_id}/{device}/{tag}`) belongs to the pair (`connId`, `device`). Formats must key
 * devices by {@link deviceKey}.
 */
export interface TagInfo {
  /** `/{conn_id}/{tag_name}`, or `/{conn_id}/{device}/{tag}` for a named device's tag. */
  path: string;
  connId: string;
  /** The device on the connection's link (issue 14); undefined = the connection's only device. */
  device?: string;
  /** The tag's name within its device. */
  name: string;
  dataType: DataType;
  /**
   * Scale ≠ 1 or offset ≠ 0: the engineering value is `raw × scale + offset`, a float64
   * whatever {@link dataType} says (src/drivers/modbus/codec.ts `scaleValue`). Sparkplug
   * publishes such a tag as a Double. Undefined = false.
   */
  scaled?: boolean;
  /**
   * An array tag (`array_length` elements, issue 14): its value is an array. Sparkplug
   * publishes it as a String metric holding the JSON array (native Sparkplug arrays, §6.4.17
   * FloatArray etc., are not done). Undefined = a single value.
   */
  arrayLength?: number;
  /** `access = read-write`: writes from the north may be accepted (if `writes_enabled`). */
  writable: boolean;
  /** Engineering unit, may be empty. */
  unit: string;
  description: string;
}

/** The key of a device: `conn_id`, or `conn_id/device` for a device on a shared link. */
/**
 * True for a valid MQTT topic *name* (MQTT 5.0 §4.7.3, §3.3.2.1): 1–65535 bytes of UTF-8,
 * no wildcard `+` or `#`, no U+0000. A PUBLISH to anything else is a protocol error for which
 * the broker closes the connection (mosquitto does), so a topic from outside (an MQTT 5
 * response topic) is checked before it is used.
 */
export function isTopicName(topic: string): boolean {
  return (
    topic.length > 0 &&
    !/[+#]/.test(topic) &&
    !topic.includes("\0") &&
    Buffer.byteLength(topic, "utf8") <= 65535
  );
}

/** Longest text of a value from the north that goes into a log line, characters. */
export const LOGGED_VALUE_MAX = 200;

/**
 * A value from outside (a write request) as it may be logged: a string longer than
 * {@link LOGGED_VALUE_MAX} is cut, with its length, so that a huge payload does not become a
 * huge log line. Other values unchanged.
 */
export function loggedValue(value: unknown): unknown {
  return typeof value === "string" && value.length > LOGGED_VALUE_MAX
    ? `${value.slice(0, LOGGED_VALUE_MAX)}… (${value.length} characters)`
    : value;
}

export function deviceKey(t: { connId: string; device?: string | undefined }): string {
  return t.device === undefined ? t.connId : `${t.connId}/${t.device}`;
}

/**
 * A connection's state as the runtime derives it from `/system/{conn_id}/state`
 * (docs/intf.md "Health tags").
 */
export interface ConnState {
  connId: string;
  /** The interface app's life-cycle state (`INIT` … `STOP`); undefined = never seen. */
  appState: string | undefined;
  /**
   * True while the app is in `EXECUTE` (link up, polling). False in every other state, when
   * the state tag is bad, or when the connection was removed.
   */
  up: boolean;
  /** Why (the state tag's reason, or `removed`). */
  reason?: string;
  /** When the state was published, ms since the epoch. */
  ts: number;
  /**
   * Devices of a multi-device link that are demoted (auto-demotion, docs/intf.md), from
   * `/system/{conn_id}/devices`: not polled, so not up even while the connection is
   * (`""` = the default device). Undefined or empty: none.
   */
  demoted?: readonly string[];
}

/**
 * True when the device `device` of `conn` (undefined = the connection's only device) is
 * polled: its connection is up and the device is not demoted.
 */
export function deviceUp(conn: ConnState | undefined, device: string | undefined): boolean {
  if (!conn?.up) return false;
  return !conn.demoted?.includes(device ?? "");
}

/** A loss the TagBus reported (a `GapEvent`), as handed to {@link NorthFormat.busGap}. */
export interface BusGap {
  /** The producer (conn_id) whose updates were lost, when known. */
  producer?: string;
  /** How many updates were lost, when known. */
  dropped?: number;
  /** `outbox_overflow`, `trimmed`, `redis_data_lost`, or `buffer_full` (dropped by our own buffer). */
  reason: string;
  /** When ne-north noticed it, ms since the epoch. */
  ts: number;
}

/** Read access to what the runtime knows; always current when a format method runs. */
export interface NorthView {
  /** Selected tags' definitions by path. */
  tags(): ReadonlyMap<string, TagInfo>;
  /**
   * The latest value of every selected tag the runtime has seen (current values at start and
   * after a resync, then every update), by path. Births take their values from here.
   */
  current(): ReadonlyMap<string, TagValue>;
  /** Connections whose tags are selected, by conn_id. */
  conns(): ReadonlyMap<string, ConnState>;
}

/** What a format is created with. */
export interface FormatContext {
  northId: string;
  /** The configuration at start; a hot reload passes the new one to {@link NorthFormat.reload}. */
  north: Northbound;
  /** The resolved gateway name (`gateway`, default the host name). */
  gateway: string;
  /** The resolved MQTT client id. */
  clientId: string;
  /** A directory only this northbound uses (`{NE_DATA_DIR}/north/{north_id}`), existing. */
  dataDir: string;
  log: Logger;
  /** Wall clock, ms since the epoch (tests pass their own). */
  now: () => number;
  view: NorthView;
}

/** Where and how to answer a write request; opaque to the runtime, handed back to the format. */
export interface WriteReply {
  /** Who asked, for the log and the TagBus write's `origin` (e.g. `mqtt:client-7 topic …`). */
  origin: string;
  /** Format-private data (reply topic, correlation data, Sparkplug metric). */
  context?: unknown;
}

/**
 * What to do about an incoming message. The runtime carries actions out in order and logs
 * each `write` and `refuse` with its `origin`.
 */
export type Action =
  /** Publish these (e.g. NBIRTH + DBIRTHs on a rebirth request). */
  | { kind: "publish"; messages: OutMessage[] }
  /**
   * A TagBus write. The format has already checked that writes are enabled, the tag is
   * selected and writable, and the value fits its type; the runtime checks writes are
   * enabled and the tag writable again, then calls `bus.write` and hands the result to
   * {@link NorthFormat.writeResult}.
   */
  | { kind: "write"; path: string; value: TagScalar; reply: WriteReply }
  /** Refused and not applied (unknown metric, wrong type, writes disabled…): logged at warn, counted. */
  | { kind: "refuse"; reason: string; origin: string; detail?: Record<string, unknown> }
  /** Stop publishing data (Sparkplug primary host offline); updates are kept as during an outage. */
  | { kind: "hold"; reason: string }
  /** Publish `publish` (births), then data flows again: replay first (historical), live interleaved. */
  | { kind: "open"; publish: OutMessage[]; reason: string }
  /**
   * Say goodbye, disconnect and connect again (to the next broker URL), e.g. Sparkplug 3.0
   * §5.9 on a primary host's offline STATE.
   */
  | { kind: "reconnect"; reason: string };

/** A northbound format: see the module comment for the order of calls. */
export interface NorthFormat {
  /** Called before every CONNECT attempt. Sparkplug: `bdSeq` + 1 (persisted before returning). */
  beginConnect(): ConnectPlan;
  /** Topic filters to subscribe after CONNACK, before {@link online}. May be empty. */
  subscriptions(): SubscribeRequest[];
  /** The session is up and subscribed: first messages and the gate. */
  online(): Step;
  /**
   * Encodes updates of selected tags, in bus order (per producer), to messages.
   * @param updates one batch, all live or all historical.
   * @param mode `historical`: from the buffer or the previous session's unconfirmed window
   *   (plain MQTT `replay: true`; Sparkplug `is_historical = true` with original timestamps).
   * Only called while the gate is open. May return births before data (a device born late).
   */
  encode(updates: readonly TagValue[], mode: { historical: boolean }): OutMessage[];
  /**
   * A connection's state changed (`prev` undefined: first seen). Plain MQTT: the retained
   * state topic; Sparkplug: DBIRTH when it comes up, DDEATH when it goes down. Called while the
   * gate is open; when it opens, {@link online} / the `open` action cover the current states.
   */
  connChanged(conn: ConnState, prev: ConnState | undefined): OutMessage[];
  /** Every received message, also while held. Unknown or malformed → a `refuse` action. */
  incoming(msg: InMessage): Action[];
  /** The result of a `write` action, to publish (plain MQTT reply topic); may be empty. */
  writeResult(reply: WriteReply, path: string, result: WriteResult): OutMessage[];
  /**
   * The TagBus lost updates (docs/tagbus.md "Gaps") or the buffer dropped its oldest: the
   * upstream signal (plain MQTT: a gap event message; Sparkplug: a rebirth). The runtime's
   * view already holds the resynchronised current values. Called while open; a gap while
   * held or offline is reported at the next open.
   */
  busGap(gap: BusGap): Step;
  /**
   * A hot reload (tag selection, publishing options changed; not one of `NORTH_RESTART_FIELDS`
   * field): the view already holds the new tags. Sparkplug: a rebirth on the same session.
   * Called also while offline (then `publish` is dropped and `online` follows later).
   */
  reload(north: Northbound): Step;
  /** Messages before an intentional DISCONNECT (status `offline`; NDEATH). QoS 1 ones are awaited (bounded). */
  goodbye(): OutMessage[];
  /** The session ended (after goodbye, or lost): reset per-session state. */
  offline(): void;
}

/** Creates a format for one northbound. Constructors do no I/O beyond reading their own data dir. */
export type FormatFactory = (ctx: FormatContext) => NorthFormat;
