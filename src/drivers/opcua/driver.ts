// Must stay first: see reflect-polyfill.ts (needed by `bun build --compile`).
import "./reflect-polyfill.ts";
import {
  AttributeIds,
  coerceNodeId,
  type DataValue,
  type StatusCode,
  Variant,
  VariantArrayType,
} from "node-opcua-client";
import { isNodiError, NodiError } from "../../core/errors.ts";
import type { TagScalar } from "../../core/tag-value.ts";
import type { Block, Connection, Tag } from "../../store/schema.ts";
import type { Driver, DriverDeps, PushSource, TagReading } from "../driver.ts";
import { chunk } from "./batch.ts";
import { routeLibraryLogs } from "./library-log.ts";
import { readingOf } from "./reading.ts";
import { type OpcuaLink, openLink, securityOf, withTimeout } from "./session.ts";
import { BlockSubscription } from "./subscription.ts";
import { BuiltIn, toVariantValue } from "./values.ts";

/** A pushed block the runtime started: kept across link loss so `connect` can restore it. */
interface Started {
  block: Block;
  emit: (readings: TagReading[]) => void;
  sub: BlockSubscription | undefined;
}

/** Counters for tests, benchmarks and health tags. */
export interface OpcuaDriverStats {
  /** Read service requests sent for polled blocks. */
  readRequests: number;
  /** Sessions opened. */
  sessions: number;
  /** Subscriptions rebuilt on the same session (watchdog / status change). */
  subscriptionRebuilds: number;
}

/** Turns a failure of a service call into a NodiError (`timeout` or `communication`). */
function serviceError(e: unknown, what: string): NodiError {
  if (e instanceof NodiError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (/timed? ?out|BadTimeout|BadRequestTimeout/i.test(msg)) {
    return new NodiError("timeout", `${what}: ${msg}`, "timeout", {}, { cause: e });
  }
  const status = /\b(Bad[A-Za-z]+)\b/.exec(msg)?.[1] ?? "communication";
  return new NodiError("communication", `${what}: ${msg}`, status, {}, { cause: e });
}

/**
 * The OPC UA driver of one connection (see docs/opcua.md). Blocks of table `opcua_nodes` with
 * mode `subscribe` (or empty) are pushed through {@link PushSource}: one subscription per block.
 * Blocks with mode `poll` are read with the Read service, split by the server's
 * MaxNodesPerRead. Writes convert to the node's built-in DataType (read once, cached).
 *
 * Recovery: a broken channel or session is reported through `onLinkLost` (the runtime closes,
 * backs off and calls `connect` again); `connect` re-creates the subscriptions of every block
 * started and not stopped, so all monitored items come back even if the runtime does not call
 * `push.start` again (if it does, the call is a no-op for an unchanged block). A subscription
 * that stops delivering keep-alives is rebuilt inside the driver on the live session.
 */
export class OpcuaDriver implements Driver {
  private blocks = new Map<string, Block>();
  private tagsOf = new Map<string, Tag[]>();
  private link: OpcuaLink | undefined;
  private started = new Map<string, Started>();
  private dataTypes = new Map<string, number>();
  private linkLost: ((e: NodiError) => void) | undefined;
  readonly stats: OpcuaDriverStats = { readRequests: 0, sessions: 0, subscriptionRebuilds: 0 };
  readonly push: PushSource;

  constructor(
    private readonly connection: Connection,
    private readonly deps: DriverDeps,
  ) {
    this.push = {
      pushes: (block) =>
        block.table === "opcua_nodes" && (block.mode ?? "subscribe") === "subscribe",
      start: (block, emit) => this.startBlock(block, emit),
      stop: (blockId) => this.stopBlock(blockId),
    };
  }

  /** The PKI and security of this connection are checked here too (no I/O). */
  configure(blocks: Block[], tags: Tag[]): void {
    securityOf(this.connection);
    if (!this.connection.endpoint_url) {
      throw new NodiError(
        "configuration",
        `connection ${this.connection.conn_id}: endpoint_url is required`,
      );
    }
    const nextBlocks = new Map<string, Block>();
    const nextTags = new Map<string, Tag[]>();
    for (const b of blocks) {
      if (!b.enabled) continue;
      if (b.table !== "opcua_nodes") {
        throw new NodiError(
          "configuration",
          `block ${b.block_id}: table must be opcua_nodes for an opcua connection (got ${b.table})`,
        );
      }
      nextBlocks.set(b.block_id, b);
      nextTags.set(b.block_id, []);
    }
    for (const t of tags) {
      const list = nextTags.get(t.block_id ?? "");
      if (!list) continue;
      if (!t.node_id) {
        throw new NodiError(
          "configuration",
          `tag ${t.tag_name}: node_id is required on an opcua connection`,
        );
      }
      try {
        coerceNodeId(t.node_id);
      } catch {
        throw new NodiError(
          "configuration",
          `tag ${t.tag_name}: node_id ${JSON.stringify(t.node_id)} is not a valid OPC UA node id`,
        );
      }
      list.push(t);
    }
    this.blocks = nextBlocks;
    this.tagsOf = nextTags;
    this.dataTypes.clear();
  }

  async connect(): Promise<void> {
    if (this.link) return;
    routeLibraryLogs(this.deps.log);
    const ref: { link?: OpcuaLink } = {};
    const link = await openLink(this.connection, this.deps, (e) => this.onLost(ref.link, e));
    ref.link = link;
    this.link = link;
    this.stats.sessions++;
    for (const s of this.started.values()) {
      if (!s.sub) await this.subscribe(s);
    }
  }

  private onLost(link: OpcuaLink | undefined, e: NodiError): void {
    if (!link || this.link !== link) return;
    this.deps.log.warn({ err: e.message }, "opcua link lost");
    this.dropLink();
    // closed here, not by the runtime's `close()` (which finds no link any more): a lost
    // session left open keeps node-opcua's keep-alive timer pinging, and with it the whole
    // client, for the life of the process (~130 KiB and a timer per reconnect)
    void link.close();
    this.linkLost?.(e);
  }

  /** Forgets the session and its subscriptions (the started blocks stay registered). */
  private dropLink(): OpcuaLink | undefined {
    const link = this.link;
    this.link = undefined;
    for (const s of this.started.values()) {
      if (s.sub) {
        this.stats.subscriptionRebuilds += s.sub.rebuilds;
        void s.sub.stop();
      }
      s.sub = undefined;
    }
    return link;
  }

  async close(): Promise<void> {
    const link = this.dropLink();
    await link?.close();
  }

  onLinkLost(callback: (error: NodiError) => void): void {
    this.linkLost = callback;
  }

  private requireLink(what: string): OpcuaLink {
    if (!this.link) throw new NodiError("communication", `${what}: not connected`, "disconnected");
    return this.link;
  }

  private blockTags(blockId: string): { block: Block; tags: Tag[] } {
    const block = this.blocks.get(blockId);
    if (!block)
      throw new NodiError("not_found", `block ${blockId} is not configured (or disabled)`);
    return { block, tags: this.tagsOf.get(blockId) ?? [] };
  }

  async read(blockId: string): Promise<TagReading[]> {
    const { tags } = this.blockTags(blockId);
    const link = this.requireLink(`read ${blockId}`);
    const out: TagReading[] = [];
    for (const part of chunk(tags, link.limits.maxNodesPerRead)) {
      this.stats.readRequests++;
      let dvs: DataValue[];
      try {
        dvs = await withTimeout(
          link.session.read(
            part.map((t) => ({ nodeId: t.node_id as string, attributeId: AttributeIds.Value })),
            0,
          ),
          this.connection.timeout_ms + 1000,
          `read ${blockId}`,
        );
      } catch (e) {
        throw serviceError(e, `read ${blockId}`);
      }
      const now = Date.now();
      part.forEach((t, i) => {
        const dv = dvs[i];
        out.push(
          dv
            ? readingOf(t, dv, now)
            : { tag_name: t.tag_name, value: null, quality: "bad", reason: "BadNoData", ts: now },
        );
      });
    }
    return out;
  }

  async write(tag: Tag, value: TagScalar): Promise<void> {
    const what = `write ${tag.tag_name}`;
    if (tag.access !== "read-write") {
      throw new NodiError("read_only", `${what}: the tag's access is read`, "read_only");
    }
    if (!tag.node_id) throw new NodiError("configuration", `${what}: the tag has no node_id`);
    const link = this.requireLink(what);
    const dataType = await this.dataTypeOf(link, tag.node_id, what);
    const raw = toVariantValue(dataType, value, tag, what);
    const variant = new Variant({ dataType, arrayType: VariantArrayType.Scalar, value: raw });
    let status: StatusCode;
    try {
      status = await withTimeout(
        link.session.write({
          nodeId: tag.node_id,
          attributeId: AttributeIds.Value,
          value: { value: variant },
        }),
        this.connection.timeout_ms + 1000,
        what,
      );
    } catch (e) {
      const err = serviceError(e, what);
      // The request left on a live link and no answer came (the connection broke, the reply
      // was lost): the server may have applied it. Only a ServiceFault (node-opcua keeps it as
      // `response`) is the server's answer that it did not (docs/intf.md "Outcome unknown").
      if (!(e as { response?: unknown } | null)?.response) err.details.sent = true;
      throw err;
    }
    if (!status.isGood()) {
      throw new NodiError(
        "device_exception",
        `${what}: the server answered ${status.name}`,
        status.name,
        {
          node_id: tag.node_id,
          status: status.value,
        },
      );
    }
  }

  /** The built-in DataType of a node's Value (Part 3 §5.6.2), read once and cached. */
  private async dataTypeOf(link: OpcuaLink, nodeId: string, what: string): Promise<number> {
    const cached = this.dataTypes.get(nodeId);
    if (cached !== undefined) return cached;
    const [dv] = await withTimeout(
      link.session.read([{ nodeId, attributeId: AttributeIds.DataType }]),
      this.connection.timeout_ms + 1000,
      what,
    ).catch((e) => {
      throw serviceError(e, what);
    });
    if (!dv?.statusCode.isGood()) {
      const name = dv?.statusCode.name ?? "BadNoData";
      throw new NodiError(
        "device_exception",
        `${what}: cannot read the DataType of ${nodeId}: ${name}`,
        name,
      );
    }
    let builtIn: number;
    try {
      builtIn = await link.session.getBuiltInDataType(coerceNodeId(nodeId));
    } catch (e) {
      throw serviceError(e, what);
    }
    if (builtIn === BuiltIn.Null) {
      throw new NodiError(
        "device_exception",
        `${what}: ${nodeId} has no writable built-in DataType`,
        "BadTypeMismatch",
      );
    }
    this.dataTypes.set(nodeId, builtIn);
    return builtIn;
  }

  private async startBlock(block: Block, emit: (readings: TagReading[]) => void): Promise<void> {
    const configured = this.blocks.get(block.block_id);
    if (!configured)
      throw new NodiError("not_found", `block ${block.block_id} is not configured (or disabled)`);
    const existing = this.started.get(block.block_id);
    const tags = this.tagsOf.get(block.block_id) ?? [];
    if (existing?.sub?.active && sameConfig(existing.sub, configured, tags)) {
      existing.emit = emit;
      existing.sub.emit = emit;
      return;
    }
    if (existing?.sub) {
      this.stats.subscriptionRebuilds += existing.sub.rebuilds;
      await existing.sub.stop();
    }
    const s: Started = { block: configured, emit, sub: undefined };
    this.started.set(block.block_id, s);
    this.requireLink(`subscribe ${block.block_id}`);
    await this.subscribe(s);
  }

  private async subscribe(s: Started): Promise<void> {
    const link = this.requireLink(`subscribe ${s.block.block_id}`);
    const block = this.blocks.get(s.block.block_id) ?? s.block;
    const tags = this.tagsOf.get(block.block_id) ?? [];
    const sub = new BlockSubscription(
      {
        session: link.session,
        maxMonitoredItemsPerCall: link.limits.maxMonitoredItemsPerCall,
        timeoutMs: this.connection.timeout_ms,
        log: this.deps.log,
        onFailure: (e) => {
          this.onLost(link, e);
        },
      },
      block,
      tags,
      (readings) => s.emit(readings),
    );
    s.block = block;
    s.sub = sub;
    try {
      await sub.start();
    } catch (e) {
      s.sub = undefined;
      await sub.stop();
      throw isNodiError(e) ? e : serviceError(e, `subscribe ${block.block_id}`);
    }
  }

  private async stopBlock(blockId: string): Promise<void> {
    const s = this.started.get(blockId);
    this.started.delete(blockId);
    if (s?.sub) {
      this.stats.subscriptionRebuilds += s.sub.rebuilds;
      await s.sub.stop();
    }
  }

  /** Subscriptions currently alive (for tests and health tags). */
  subscriptions(): BlockSubscription[] {
    return [...this.started.values()].flatMap((s) => (s.sub ? [s.sub] : []));
  }

  /** The open session, or undefined (for tests and the CLI's browse). */
  get session() {
    return this.link?.session;
  }
}

function sameConfig(sub: BlockSubscription, block: Block, tags: Tag[]): boolean {
  return (
    JSON.stringify(sub.block) === JSON.stringify(block) &&
    JSON.stringify(sub.tags) === JSON.stringify(tags)
  );
}
