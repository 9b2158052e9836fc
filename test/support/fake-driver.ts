import { NodiError } from "../../src/core/errors.ts";
import type { TagScalar } from "../../src/core/tag-value.ts";
import type { Driver, DriverFactory, PushSource, TagReading } from "../../src/drivers/driver.ts";
import type { Block, Connection, Tag } from "../../src/store/schema.ts";

/**
 * A simulated device for runtime tests, behind the real {@link Driver} interface: tag values
 * live in `values` (by tag name, default 0); the test takes the device offline, makes blocks
 * fail with a given error, slows reads, and watches what the runtime did (`log`).
 * Not a mock of the runtime: the runtime under test drives it exactly like a real driver.
 */
export class FakeDevice {
  /** Current value of each tag (by tag name); unknown tags read 0. */
  values = new Map<string, TagScalar>();
  /** When false, `connect` fails and requests fail with kind `communication`. */
  online = true;
  /** Errors thrown by reads of a block, by block id (cleared by deleting the entry). */
  blockErrors = new Map<string, NodiError>();
  /** Extra latency of each read of a block, ms. */
  readDelayMs = new Map<string, number>();
  /** Latency of each write, ms. */
  writeDelayMs = 0;
  /** Error thrown by writes, when set. */
  writeError: NodiError | undefined;
  /** Blocks whose `count` exceeds this are refused by `configure` (kind configuration). */
  maxCount = 1000;
  /** Blocks delivered in push mode (like OPC UA subscriptions) instead of being polled. */
  pushBlocks = new Set<string>();
  /** Push emitters the runtime started, by block id. */
  emitters = new Map<string, (readings: TagReading[]) => void>();
  /** Counters of what the runtime did. */
  connects = 0;
  closes = 0;
  configures = 0;
  /** Every request in order: `read:<block>`, `write:<tag>=<value>`, `connect`, `close`, `configure`. */
  log: string[] = [];
  /** Requests in flight at once (must never exceed 1). */
  inFlight = 0;
  maxInFlight = 0;
  private drivers = new Set<FakeDriver>();

  /** The factory to hand the runtime. */
  readonly factory: DriverFactory = (connection) => {
    const d = new FakeDriver(this, connection);
    this.drivers.add(d);
    return d;
  };

  /** The link breaks: every connected driver is told (as a socket close would) and goes down. */
  dropLink(error = new NodiError("communication", "peer closed", "ECONNRESET")): void {
    this.online = false;
    for (const d of this.drivers) d.lose(error);
  }

  /** Pushes the current values of a pushed block's tags (as a subscription would). */
  emit(blockId: string, tagNames: string[]): boolean {
    const e = this.emitters.get(blockId);
    if (!e) return false;
    const ts = Date.now();
    e(tagNames.map((n) => ({ tag_name: n, value: this.values.get(n) ?? 0, quality: "good", ts })));
    return true;
  }

  /** Reads done of one block. */
  readsOf(blockId: string): number {
    return this.log.filter((l) => l === `read:${blockId}`).length;
  }

  /** @internal */
  enter(): void {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
  }
  /** @internal */
  leave(): void {
    this.inFlight--;
  }
}

class FakeDriver implements Driver {
  private blocks = new Map<string, Block>();
  private tagsOf = new Map<string, Tag[]>();
  private connected = false;
  private lost: ((e: NodiError) => void) | undefined;

  constructor(
    private readonly dev: FakeDevice,
    readonly connection: Connection,
  ) {}

  configure(blocks: Block[], tags: Tag[]): void {
    this.dev.configures++;
    this.dev.log.push("configure");
    for (const b of blocks) {
      if (b.count > this.dev.maxCount) {
        throw new NodiError(
          "configuration",
          `block ${b.block_id}: count ${b.count} exceeds ${this.dev.maxCount}`,
          "too_large",
        );
      }
    }
    this.blocks = new Map(blocks.map((b) => [b.block_id, b]));
    this.tagsOf = new Map();
    for (const t of tags) {
      const list = this.tagsOf.get(t.block_id ?? "") ?? [];
      list.push(t);
      this.tagsOf.set(t.block_id ?? "", list);
    }
  }

  async connect(): Promise<void> {
    this.dev.connects++;
    this.dev.log.push("connect");
    await Bun.sleep(1);
    if (!this.dev.online)
      throw new NodiError("communication", "connection refused", "ECONNREFUSED");
    this.connected = true;
  }

  async close(): Promise<void> {
    if (this.connected) {
      this.dev.closes++;
      this.dev.log.push("close");
    }
    this.connected = false;
  }

  async read(blockId: string): Promise<TagReading[]> {
    this.dev.enter();
    try {
      this.dev.log.push(`read:${blockId}`);
      const delay = this.dev.readDelayMs.get(blockId) ?? 0;
      if (delay > 0) await Bun.sleep(delay);
      if (!this.connected || !this.dev.online) {
        this.connected = false;
        throw new NodiError("communication", "not connected", "ECONNRESET");
      }
      const block = this.blocks.get(blockId);
      if (!block)
        throw new NodiError("configuration", `unknown block ${blockId}`, "not_configured");
      const err = this.dev.blockErrors.get(blockId);
      if (err) throw err;
      const ts = Date.now();
      return (this.tagsOf.get(blockId) ?? []).map((t) => ({
        tag_name: t.tag_name,
        value: this.dev.values.get(t.tag_name) ?? 0,
        quality: "good" as const,
        ts,
      }));
    } finally {
      this.dev.leave();
    }
  }

  async write(tag: Tag, value: TagScalar): Promise<void> {
    this.dev.enter();
    try {
      this.dev.log.push(`write:${tag.tag_name}=${value}`);
      if (this.dev.writeDelayMs > 0) await Bun.sleep(this.dev.writeDelayMs);
      if (!this.connected || !this.dev.online) {
        throw new NodiError("communication", "not connected", "ECONNRESET");
      }
      if (this.dev.writeError) throw this.dev.writeError;
      if (typeof value === "number" && value > 65535) {
        throw new NodiError("out_of_range", `${value} does not fit`, "out_of_range");
      }
      this.dev.values.set(tag.tag_name, value);
    } finally {
      this.dev.leave();
    }
  }

  readonly push: PushSource = {
    pushes: (block) => this.dev.pushBlocks.has(block.block_id),
    start: async (block, emit) => {
      this.dev.log.push(`push-start:${block.block_id}`);
      this.dev.emitters.set(block.block_id, emit);
    },
    stop: async (blockId) => {
      this.dev.log.push(`push-stop:${blockId}`);
      this.dev.emitters.delete(blockId);
    },
  };

  onLinkLost(callback: (error: NodiError) => void): void {
    this.lost = callback;
  }

  /** @internal the device dropped the link. */
  lose(e: NodiError): void {
    if (!this.connected) return;
    this.connected = false;
    this.lost?.(e);
  }
}
