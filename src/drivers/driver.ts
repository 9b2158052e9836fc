import type { NodiError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import type { Quality } from "../core/quality.ts";
import type { TagData, TagScalar } from "../core/tag-value.ts";
import type { Block, Connection, Device, Tag } from "../store/schema.ts";

/**
 * The one interface every protocol driver implements (Modbus, OPC UA). The interface app
 * (`src/intf/`) owns the life cycle, the timers and the request queue; a driver never sees a
 * timer. The runtime calls a driver's methods one at a time (never two requests in flight on
 * one link), except {@link PushSource} callbacks, which arrive whenever the library delivers.
 *
 * Errors: every method rejects with a `NodiError` (see `core/errors.ts`); the kind decides
 * what the runtime does (`communication` → link lost → RECOVER; `timeout`,
 * `device_exception`, `decode` → that block's tags bad, polling continues; `configuration`
 * → the configuration is refused).
 */
export interface Driver {
  /**
   * Validates and prepares `blocks` and `tags` (e.g. builds the request plan). Called in
   * CONFIGURE, at start and on every hot reload, with the link up or down; must not touch
   * the link. A reload calls it again without `close()`/`connect()`. `devices`: the named
   * devices of the link (a block's `device`; empty = only the connection's default device).
   * @throws NodiError kind `configuration` naming the block/tag and the rule.
   */
  configure(blocks: Block[], tags: Tag[], devices?: readonly Device[]): void | Promise<void>;

  /**
   * Opens the link (socket, serial port, OPC UA session). Bounded by the connection's
   * `connect_timeout_ms`.
   * @throws NodiError kind `communication` or `timeout`.
   */
  connect(): Promise<void>;

  /** Closes the link; never throws; safe to call when not connected. */
  close(): Promise<void>;

  /**
   * Reads one configured block and decodes its tags.
   * A failure of the whole block (exception, timeout, lost link) rejects; a tag that cannot
   * be decoded is returned with quality `bad` while the others stay good.
   * @returns one reading per enabled tag of the block, source timestamps in epoch ms.
   */
  read(blockId: string): Promise<TagReading[]>;

  /**
   * Writes `value` (engineering units) to `tag`; resolves when the device confirmed it.
   * @throws NodiError `out_of_range` before anything goes on the wire when the value does not
   *   fit; `device_exception`, `timeout`, `communication` from the device.
   */
  write(tag: Tag, value: TagScalar): Promise<void>;

  /**
   * Registers the callback the driver calls when it notices the link broke outside a
   * request (socket closed by the peer, OPC UA session lost). Optional for drivers that only
   * notice on the next request.
   */
  onLinkLost?(callback: (error: NodiError) => void): void;

  /** Present on drivers whose library delivers data by subscription (OPC UA). */
  push?: PushSource;
}

/**
 * Push mode: the driver delivers a block's values when the library reports changes, instead of
 * being polled. The runtime calls `start` for each block the driver says it pushes, after
 * `connect`, and `stop` before a reload or `close`.
 */
export interface PushSource {
  /** True when this block is pushed rather than polled (e.g. OPC UA `mode` = subscribe). */
  pushes(block: Block): boolean;
  /** Starts delivering the block's values to `emit` (called any time, possibly often). */
  start(block: Block, emit: (readings: TagReading[]) => void): Promise<void>;
  /** Stops delivery for the block. Never throws. */
  stop(blockId: string): Promise<void>;
}

/** One decoded tag value as a driver returns it; the runtime turns it into a TagSample. */
export interface TagReading {
  tag_name: string;
  /** An array tag's elements as an array (Modbus `array_length`). */
  value: TagData;
  quality: Quality;
  /** Why not good: e.g. `ILLEGAL_DATA_ADDRESS`, `decode_error`, `BadNodeIdUnknown`. */
  reason?: string;
  /** Source timestamp, epoch ms. */
  ts: number;
}

/** What the runtime hands a driver when it creates it. */
export interface DriverDeps {
  log: Logger;
  /** Data directory (OPC UA PKI lives under it). */
  dataDir: string;
}

/** Creates a driver for one connection. Constructors do no I/O (see `connect`). */
export type DriverFactory = (connection: Connection, deps: DriverDeps) => Driver;
