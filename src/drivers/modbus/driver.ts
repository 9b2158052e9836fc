import { NodiError, toNodiError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { TagScalar } from "../../core/tag-value.ts";
import {
  type Block,
  type Connection,
  type Device,
  type Tag,
  withProtocolDefaults,
} from "../../store/schema.ts";
import type { Driver, DriverDeps, TagReading } from "../driver.ts";
import { ModbusClient, type ModbusClientStats } from "./client.ts";
import { decodeArray, decodeRegisters, encodeRegisters, spanOf, toBool, withBit } from "./codec.ts";
import type { LinkOpener } from "./link.ts";
import {
  FC,
  LIMITS,
  parseResponse,
  readRequest,
  writeMultipleCoilsRequest,
  writeMultipleRegistersRequest,
  writeSingleCoilRequest,
  writeSingleRegisterRequest,
} from "./pdu.ts";
import { checkTag, isBitTable, type PlannedRequest, planRequests, READ_FC } from "./plan.ts";
import { serialLinkOpener } from "./serial-link.ts";
import { tcpLinkOpener } from "./tcp-link.ts";

interface PlannedBlock {
  block: Block;
  /** The unit id of the block's device (the connection's `unit_id` for the default device). */
  unitId: number;
  fc: 1 | 2 | 3 | 4;
  requests: PlannedRequest[];
  tags: Tag[];
}

/**
 * The Modbus driver of one connection (`modbus-tcp`, `modbus-rtu`, `modbus-rtu-tcp`): the
 * glue between the runtime's {@link Driver} calls and the session (`client.ts`), the request
 * plan (`plan.ts`) and the codec (`codec.ts`).
 */
export class ModbusDriver implements Driver {
  private blocks = new Map<string, PlannedBlock>();
  private readonly client: ModbusClient;
  private readonly unitId: number;
  /** The connection's `address_base`: subtracted from block and tag addresses for the wire. */
  private readonly base: number;

  constructor(
    private readonly connection: Connection,
    deps: Pick<DriverDeps, "log">,
    open: LinkOpener = linkOpenerFor(connection),
  ) {
    this.unitId = withProtocolDefaults(connection).unit_id!;
    this.base = withProtocolDefaults(connection).address_base ?? 0;
    this.client = new ModbusClient({
      framing: connection.protocol === "modbus-tcp" ? "tcp" : "rtu",
      open,
      timeoutMs: connection.timeout_ms,
      connectTimeoutMs: connection.connect_timeout_ms,
      interRequestDelayMs: interRequestDelay(connection),
      log: deps.log as Logger,
    });
  }

  /** Replies dropped because they matched no request in flight (for health counters). */
  get strayReplies(): number {
    return this.client.strayReplies;
  }

  /** The session's counters: stray replies, idle closes, reopens, retried requests. */
  get linkStats(): Readonly<ModbusClientStats> {
    return this.client.stats;
  }

  /**
   * Plans the blocks' requests. Addresses are taken in the connection's `address_base`
   * (with 1, address 1 is register 0 on the wire) and planned as protocol addresses.
   * Each block is polled with the unit id of its device (`devices`; a block without
   * `device` uses the connection's `unit_id`), all over the one link.
   * @throws NodiError `configuration` naming the block or tag, or a block's unknown device.
   */
  configure(blocks: Block[], tags: Tag[], devices: readonly Device[] = []): void {
    const units = new Map(devices.map((d) => [d.device, d.unit_id]));
    this.planBlocks(
      blocks.map((b) => this.onWire(b)),
      tags.map((t) => this.onWire(t)),
      units,
    );
  }

  /** `row` with its address as the protocol address (the connection's `address_base` removed). */
  private onWire<R extends { address: number }>(row: R): R {
    return this.base === 0 ? row : { ...row, address: row.address - this.base };
  }

  private planBlocks(blocks: Block[], tags: Tag[], units: ReadonlyMap<string, number>): void {
    const next = new Map<string, PlannedBlock>();
    const limits = {
      maxRegisters: Math.min(
        this.connection.max_registers_per_request ?? LIMITS.readRegisters,
        LIMITS.readRegisters,
      ),
      maxBits: Math.min(this.connection.max_bits_per_request ?? LIMITS.readBits, LIMITS.readBits),
    };
    for (const block of blocks) {
      if (block.table === "opcua_nodes") {
        throw new NodiError(
          "configuration",
          `block ${block.block_id}: table opcua_nodes is not a Modbus table`,
        );
      }
      if (block.count < 1 || block.address + block.count > 65536) {
        throw new NodiError(
          "configuration",
          `block ${block.block_id}: count must be 1.. and address + count ≤ 65536 (got ${block.address} + ${block.count})`,
        );
      }
      let unitId = this.unitId;
      if (block.device) {
        const u = units.get(block.device);
        if (u === undefined) {
          throw new NodiError(
            "configuration",
            `block ${block.block_id}: device ${block.device} is not a device of connection ${this.connection.conn_id}`,
          );
        }
        unitId = u;
      }
      next.set(block.block_id, {
        block,
        unitId,
        fc: READ_FC[block.table],
        requests: [],
        tags: [],
      });
    }
    for (const tag of tags) {
      const pb = next.get(tag.block_id ?? "");
      if (!pb)
        throw new NodiError(
          "configuration",
          `tag ${tag.tag_name}: block ${tag.block_id} does not exist`,
        );
      checkTag(pb.block, tag);
      pb.tags.push(tag);
    }
    for (const pb of next.values()) {
      const bits = isBitTable(pb.block.table);
      const spans = pb.tags.map((t): [number, number] => [t.address, t.address + spanOf(t, bits)]);
      pb.requests = planRequests(pb.block, spans, limits);
    }
    this.blocks = next;
  }

  async connect(): Promise<void> {
    await this.client.connect();
  }

  async close(): Promise<void> {
    this.client.close();
  }

  async read(blockId: string): Promise<TagReading[]> {
    const pb = this.blocks.get(blockId);
    if (!pb) throw new NodiError("not_found", `block ${blockId} is not configured`);
    const { block } = pb;
    const values = isBitTable(block.table)
      ? new Uint8Array(block.count)
      : new Uint16Array(block.count);
    for (const r of pb.requests) {
      const req = readRequest(pb.fc, r.address, r.count);
      const data = parseResponse(req, await this.client.request(pb.unitId, req));
      values.set(data, r.address - block.address);
    }
    const ts = Date.now();
    const out: TagReading[] = new Array(pb.tags.length);
    for (let i = 0; i < pb.tags.length; i++) {
      const tag = pb.tags[i] as Tag;
      const at = tag.address - block.address;
      try {
        const n = tag.array_length;
        const value =
          values instanceof Uint8Array
            ? n == null
              ? values[at] === 1
              : Array.from(values.subarray(at, at + n), (b) => b === 1)
            : n == null
              ? decodeRegisters(tag, values, at)
              : decodeArray(tag, values, at);
        out[i] = { tag_name: tag.tag_name, value, quality: "good", ts };
      } catch (e) {
        const err = toNodiError(e, "decode");
        out[i] = { tag_name: tag.tag_name, value: null, quality: "bad", reason: err.reason, ts };
      }
    }
    return out;
  }

  async write(stored: Tag, value: TagScalar): Promise<void> {
    const tag = this.onWire(stored);
    if (tag.access === "read")
      throw new NodiError("read_only", `tag ${tag.tag_name} is read-only`, "read_only");
    if (tag.array_length != null) {
      throw new NodiError(
        "read_only",
        `tag ${tag.tag_name} is an array (${tag.data_type}[${tag.array_length}]): writes of array tags are not supported`,
        "read_only",
      );
    }
    const pb = this.blocks.get(tag.block_id ?? "");
    if (!pb)
      throw new NodiError(
        "not_found",
        `block ${tag.block_id} of tag ${tag.tag_name} is not configured`,
      );
    const table = pb.block.table;
    if (table === "discrete_inputs" || table === "input_registers") {
      throw new NodiError(
        "read_only",
        `tag ${tag.tag_name}: ${table} cannot be written (Modbus has no write function for them)`,
        "read_only",
      );
    }
    const unit = pb.unitId;
    if (unit === 0 && this.connection.protocol !== "modbus-tcp") {
      await this.writeBroadcast(tag, table, value);
      return;
    }
    if (table === "coils") {
      const on = toBool(tag, value);
      await this.exchange(writeSingleCoilRequest(tag.address, on), unit);
      return;
    }
    if (tag.data_type === "bit") {
      const on = toBool(tag, value);
      const rd = readRequest(FC.readHoldingRegisters, tag.address, 1);
      // A failed read of the register means nothing was written.
      const current =
        (
          await this.client.request(unit, rd).then(
            (reply) => parseResponse(rd, reply),
            (e) => {
              throw notWritten(e);
            },
          )
        )[0] ?? 0;
      await this.exchange(
        writeSingleRegisterRequest(tag.address, withBit(current, tag.bit ?? 0, on)),
        unit,
      );
      return;
    }
    const regs = encodeRegisters(tag, value);
    await this.exchange(
      regs.length === 1
        ? writeSingleRegisterRequest(tag.address, regs[0] ?? 0)
        : writeMultipleRegistersRequest(tag.address, regs),
      unit,
    );
  }

  /**
   * A write to a tag of a unit-0 device on an RTU link: a broadcast, which every device
   * executes and none answers (Modbus over Serial Line v1.02 §2.1); resolves once sent. A
   * `bit` tag is refused: it needs a read of its register first, and a broadcast has none.
   */
  private async writeBroadcast(tag: Tag, table: Block["table"], value: TagScalar): Promise<void> {
    let req: Uint8Array;
    if (table === "coils") req = writeSingleCoilRequest(tag.address, toBool(tag, value));
    else if (tag.data_type === "bit") {
      throw new NodiError(
        "out_of_range",
        `tag ${tag.tag_name}: one bit of a register cannot be written by broadcast (it needs the register read first, and no device answers a broadcast); use a whole register`,
        "broadcast_bit",
      );
    } else {
      const regs = encodeRegisters(tag, value);
      req =
        regs.length === 1
          ? writeSingleRegisterRequest(tag.address, regs[0] ?? 0)
          : writeMultipleRegistersRequest(tag.address, regs);
    }
    await this.client.broadcast(req);
  }

  /**
   * Writes several coils in one FC15 request (spec §6.11). `address` is the protocol
   * (zero-based) address, whatever the connection's `address_base`.
   * @throws NodiError `out_of_range` for more than 1968 coils; device errors as `write`.
   */
  async writeCoils(address: number, bits: boolean[]): Promise<void> {
    if (bits.length < 1 || bits.length > LIMITS.writeBits) {
      throw new NodiError(
        "out_of_range",
        `FC15 writes 1..${LIMITS.writeBits} coils, got ${bits.length}`,
      );
    }
    await this.exchange(writeMultipleCoilsRequest(address, bits));
  }

  /**
   * Writes raw registers in one FC16 request (spec §6.12). `address` is the protocol
   * (zero-based) address, whatever the connection's `address_base`.
   * @throws NodiError `out_of_range` for more than 123 registers; device errors as `write`.
   */
  async writeRegisters(address: number, regs: number[]): Promise<void> {
    if (regs.length < 1 || regs.length > LIMITS.writeRegisters) {
      throw new NodiError(
        "out_of_range",
        `FC16 writes 1..${LIMITS.writeRegisters} registers, got ${regs.length}`,
      );
    }
    await this.exchange(writeMultipleRegistersRequest(address, regs));
  }

  /**
   * Sends a write request and checks its reply. A reply that cannot be decoded still came
   * after the request reached the device: `details.sent` true (the write may have been
   * applied); an exception reply means the device refused it.
   */
  private async exchange(req: Uint8Array, unitId: number = this.unitId): Promise<void> {
    const reply = await this.client.request(unitId, req);
    try {
      parseResponse(req, reply);
    } catch (e) {
      const err = toNodiError(e, "decode");
      if (err.kind !== "decode") throw err;
      throw new NodiError(err.kind, err.message, err.reason, { ...err.details, sent: true });
    }
  }
}

/** `e` marked as a failure before anything was written (`details.sent` false). */
function notWritten(e: unknown): NodiError {
  const err = toNodiError(e, "communication");
  return new NodiError(
    err.kind,
    err.message,
    err.reason,
    { ...err.details, sent: false },
    {
      cause: err,
    },
  );
}

/**
 * The link of a connection: TCP for `modbus-tcp` / `modbus-rtu-tcp`, the serial device for
 * `modbus-rtu`.
 * @throws NodiError `configuration` when host/port or serial_device is missing.
 */
export function linkOpenerFor(conn: Connection): LinkOpener {
  // Rows stored before the store filled in the defaults may still have empty fields.
  const c = withProtocolDefaults(conn);
  if (c.protocol === "modbus-rtu") {
    if (!c.serial_device)
      throw new NodiError(
        "configuration",
        `connection ${c.conn_id}: modbus-rtu needs serial_device`,
      );
    return serialLinkOpener({
      path: c.serial_device,
      baudRate: c.baud_rate!,
      parity: c.parity!,
      dataBits: c.data_bits!,
      stopBits: c.stop_bits!,
    });
  }
  if (!c.host || !c.port)
    throw new NodiError(
      "configuration",
      `connection ${c.conn_id}: ${c.protocol} needs host and port`,
    );
  return tcpLinkOpener(c.host, c.port);
}

/**
 * The pause between requests: the connection's `inter_request_delay_ms`, and on a serial line
 * at least the 3.5-character silence that ends an RTU frame (Modbus over Serial Line v1.02
 * §2.5.1.1: 11 bits per character; fixed 1.75 ms above 19200 baud).
 */
export function interRequestDelay(c: Connection): number {
  const configured = c.inter_request_delay_ms ?? 0;
  if (c.protocol !== "modbus-rtu") return configured;
  const baud = withProtocolDefaults(c).baud_rate!;
  const t35 = baud > 19200 ? 1.75 : (3.5 * 11 * 1000) / baud;
  return Math.max(configured, t35);
}
