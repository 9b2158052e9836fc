import { NodiError, toNodiError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import { encodeRtu, RtuReplyMatcher } from "./framing-rtu.ts";
import { encodeMbap, MbapDecoder } from "./framing-tcp.ts";
import type { Link, LinkOpener } from "./link.ts";
import { expectedResponseLength } from "./pdu.ts";

/**
 * Pause after a broadcast before the next request, ms: the turnaround delay of Modbus over
 * Serial Line v1.02 §2.4.1 ("typically 100 ms to 200 ms"), the time the devices take to
 * process a broadcast.
 */
export const BROADCAST_TURNAROUND_MS = 100;

/** Options of a {@link ModbusClient}. */
export interface ModbusClientOptions {
  /** `tcp`: MBAP with transaction ids; `rtu`: RTU frames (serial, or RTU over TCP). */
  framing: "tcp" | "rtu";
  open: LinkOpener;
  /** Per-request timeout, ms. */
  timeoutMs: number;
  /** Connect timeout, ms. */
  connectTimeoutMs: number;
  /** Minimum pause between the end of one exchange and the next request, ms. */
  interRequestDelayMs?: number;
  log?: Logger;
}

interface InFlight {
  unitId: number;
  request: Uint8Array;
  transactionId: number;
  pduLength: number;
  /** Some bytes arrived on the link since the request was sent. */
  gotData: boolean;
  resolve(pdu: Uint8Array): void;
  reject(e: NodiError): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Marks a request that failed because its link closed before any byte of a reply came back:
 * the only failure {@link ModbusClient.request} retries (once, on a new link).
 */
class ClosedBeforeReply extends NodiError {}

/** Counters of a {@link ModbusClient}, since it was created. */
export interface ModbusClientStats {
  /** Replies dropped because they did not belong to the request in flight. */
  strayReplies: number;
  /** Links the device closed while idle (reopened at the next request). */
  idleCloses: number;
  /** Links reopened by the client itself (after an idle close or a framing error). */
  reopens: number;
  /** Requests sent a second time because their link closed before a reply. */
  retries: number;
}

/**
 * One Modbus link with one request in flight at a time: frames requests, matches replies to
 * the request in flight (transaction id on TCP; unit id, function code, length and CRC on
 * RTU), and enforces the per-request timeout and the inter-request delay. A reply that does
 * not belong to the request in flight is counted in `strayReplies` and dropped.
 *
 * The link is kept up across the two resets devices cause in normal operation (docs/modbus.md
 * "Link resets"):
 * - **Idle close**: many PLCs and serial gateways close a TCP socket after some seconds
 *   without traffic. A link closed while no request is in flight is no fault: it is reopened
 *   at the next request, and nothing is reported. A request whose link closes before any
 *   byte of its reply arrived (the device's close crossed the request on the wire) is sent
 *   once more on a new link. Only when reopening fails, or the second attempt fails too, does
 *   the request reject with `communication` (the link is lost).
 * - **Framing error**: a corrupt MBAP header (protocol id ≠ 0, length outside 2..254; TCP
 *   implementation guide v1.0b §3.1.3) means the stream cannot be resynchronised. The
 *   request in flight rejects with `decode`/`framing_error` and the link is closed and
 *   reopened at once, so the next request finds a clean stream.
 *
 * Not a queue: the runtime never issues two requests at once; a second concurrent call is
 * refused with a NodiError `internal`.
 *
 * Errors carry `details.sent`: `false` when nothing reached the link (not connected, reopen
 * failed), `true` when the request had been written (timeout, link closed or corrupt reply
 * after sending). For a write, `sent: true` means the device may have applied it.
 */
export class ModbusClient {
  private link: Link | undefined;
  /** True between a successful `connect()` and `close()`: a closed link may be reopened. */
  private wanted = false;
  /** A reopen under way (started after a framing error); requests wait for it. */
  private reopening: Promise<void> | undefined;
  /** Bumped by `connect()`/`close()`; a link opened for an older generation is discarded. */
  private generation = 0;
  private flight: InFlight | undefined;
  private nextTid = 1;
  private lastDoneAt = 0;
  /** `performance.now()` before which no request goes out (the turnaround after a broadcast). */
  private quietUntil = 0;
  private readonly mbap = new MbapDecoder();
  private readonly rtu = new RtuReplyMatcher();
  private readonly log: Logger;
  readonly stats: ModbusClientStats = { strayReplies: 0, idleCloses: 0, reopens: 0, retries: 0 };

  constructor(private readonly opts: ModbusClientOptions) {
    this.log = opts.log ?? silentLogger;
  }

  /** Replies dropped because they did not belong to the request in flight. */
  get strayReplies(): number {
    return this.stats.strayReplies;
  }

  /** True between `connect()` and `close()`, also while an idle-closed link waits to be reopened. */
  get connected(): boolean {
    return this.wanted;
  }

  /**
   * Opens the link (closing a previous one first).
   * @throws NodiError `timeout` / `communication`.
   */
  async connect(): Promise<void> {
    this.close();
    await this.openLink(this.generation);
    this.wanted = true;
  }

  /** Closes the link; a request in flight fails with `communication`. Never throws. */
  close(): void {
    this.generation++;
    this.wanted = false;
    this.reopening = undefined;
    const link = this.link;
    this.link = undefined;
    link?.close();
    this.failFlight(
      new NodiError("communication", "link closed", "disconnected", {
        sent: this.flight !== undefined,
      }),
    );
  }

  /**
   * Sends one request PDU to `unitId` and waits for its reply. Reopens a link the device
   * closed while idle, and sends once more when the link closes before any reply byte.
   * @returns the reply PDU (possibly an exception PDU; see `parseResponse`).
   * @throws NodiError `communication` when not connected, the link cannot be reopened or
   *   breaks twice; `timeout` after `timeoutMs`; `decode`/`framing_error` on a corrupt TCP
   *   stream (the link is reset). `details.sent` says whether the request was written.
   */
  async request(unitId: number, pdu: Uint8Array): Promise<Uint8Array> {
    if (this.flight)
      throw new NodiError("internal", "a Modbus request is already in flight on this link");
    await this.waitTurn();
    for (let attempt = 0; ; attempt++) {
      const link = await this.usableLink();
      try {
        return await this.exchange(link, unitId, pdu);
      } catch (e) {
        if (e instanceof ClosedBeforeReply && attempt === 0 && this.wanted) {
          this.stats.retries++;
          this.log.debug(
            { unitId, functionCode: pdu[0] },
            "modbus: link closed before the reply; sending once more on a new link",
          );
          continue;
        }
        throw e;
      }
    }
  }

  /** Waits for the inter-request delay and a broadcast's turnaround to pass. */
  private async waitTurn(): Promise<void> {
    const delay = this.opts.interRequestDelayMs ?? 0;
    const at = Math.max(delay > 0 ? this.lastDoneAt + delay : 0, this.quietUntil);
    const wait = at - performance.now();
    if (wait > 0) await Bun.sleep(wait);
  }

  /**
   * Sends a broadcast request (unit 0) on an RTU link, which no device answers (Modbus over
   * Serial Line v1.02 §2.1: broadcast requests are writes, no reply is returned). Resolves
   * once the frame is written; the next request waits the turnaround delay
   * (`turnaroundMs`, §2.4.1 "typically 100 ms to 200 ms") so the devices can process it.
   * Nothing confirms that any device applied it.
   * @throws NodiError `configuration` on a TCP (MBAP) link, where unit 0 is no broadcast;
   *   `communication` when not connected or the link cannot be reopened.
   */
  async broadcast(pdu: Uint8Array, turnaroundMs = BROADCAST_TURNAROUND_MS): Promise<void> {
    if (this.opts.framing !== "rtu")
      throw new NodiError(
        "configuration",
        "broadcast (unit 0) is an RTU feature (Modbus over Serial Line §2.1); on Modbus TCP unit 0 addresses the server itself",
      );
    if (this.flight)
      throw new NodiError("internal", "a Modbus request is already in flight on this link");
    await this.waitTurn();
    const link = await this.usableLink();
    link.write(encodeRtu(0, pdu));
    this.lastDoneAt = performance.now();
    this.quietUntil = this.lastDoneAt + turnaroundMs;
  }

  /** The link to send on: the current one, or a new one when the device closed it. */
  private async usableLink(): Promise<Link> {
    if (this.reopening) {
      try {
        await this.reopening;
      } catch {
        // reported below as a failed reopen
      }
    }
    if (this.link) return this.link;
    if (!this.wanted)
      throw new NodiError("communication", "not connected", "disconnected", { sent: false });
    try {
      await this.openLink(this.generation);
      this.stats.reopens++;
    } catch (e) {
      const err = toNodiError(e, "communication");
      throw new NodiError(
        "communication",
        `cannot reopen the link: ${err.message}`,
        err.reason,
        { ...err.details, sent: false },
        { cause: err },
      );
    }
    if (!this.link)
      throw new NodiError("communication", "link closed", "disconnected", { sent: false });
    return this.link;
  }

  /** Opens a link for generation `gen`; discards it when `close()`/`connect()` came meanwhile. */
  private async openLink(gen: number): Promise<void> {
    this.mbap.reset();
    this.rtu.reset();
    let me: Link | undefined;
    const link = await this.opts.open(
      {
        onData: (chunk) => {
          if (me && this.link === me) this.onData(chunk);
        },
        onClose: (err) => {
          if (me && this.link === me) this.onPeerClose(err.message);
        },
      },
      this.opts.connectTimeoutMs,
    );
    if (gen !== this.generation) {
      link.close();
      throw new NodiError("communication", "link closed", "disconnected", { sent: false });
    }
    me = link;
    this.link = link;
  }

  private exchange(link: Link, unitId: number, pdu: Uint8Array): Promise<Uint8Array> {
    const pduLength = expectedResponseLength(pdu) ?? 0;
    return new Promise<Uint8Array>((resolve, reject) => {
      const transactionId = this.nextTid;
      this.nextTid = this.nextTid === 0xffff ? 1 : this.nextTid + 1;
      const timer = setTimeout(() => {
        this.finish();
        reject(
          new NodiError(
            "timeout",
            `no reply from unit ${unitId} within ${this.opts.timeoutMs} ms`,
            "timeout",
            { function_code: pdu[0], sent: true },
          ),
        );
      }, this.opts.timeoutMs);
      this.flight = {
        unitId,
        request: pdu,
        transactionId,
        pduLength,
        gotData: false,
        resolve,
        reject,
        timer,
      };
      if (this.opts.framing === "tcp") {
        link.write(encodeMbap(transactionId, unitId, pdu));
      } else {
        this.rtu.reset();
        link.write(encodeRtu(unitId, pdu));
      }
    });
  }

  private finish(): InFlight | undefined {
    const f = this.flight;
    if (!f) return undefined;
    clearTimeout(f.timer);
    this.flight = undefined;
    this.lastDoneAt = performance.now();
    return f;
  }

  private failFlight(e: NodiError): void {
    this.finish()?.reject(e);
  }

  /** The device closed the link (or an I/O error ended it). */
  private onPeerClose(reason: string): void {
    const link = this.link;
    this.link = undefined;
    link?.close();
    const f = this.flight;
    if (!f) {
      // Idle close: no fault; the next request reopens the link.
      this.stats.idleCloses++;
      this.log.debug(
        { reason },
        "modbus: the device closed the idle link; reopening at the next request",
      );
      return;
    }
    const details = { sent: true };
    this.failFlight(
      f.gotData
        ? new NodiError("communication", reason, "disconnected", details)
        : new ClosedBeforeReply("communication", reason, "disconnected", details),
    );
  }

  /** The stream lost its framing: fail the request in flight and reopen the link at once. */
  private resetLink(err: NodiError): void {
    const link = this.link;
    this.link = undefined;
    link?.close();
    this.failFlight(
      new NodiError("decode", err.message, "framing_error", { ...err.details, sent: true }),
    );
    if (!this.wanted) return;
    this.log.warn(
      { err: err.message },
      "modbus: corrupt frame from the device; resetting the link",
    );
    const p = this.openLink(this.generation).then(() => {
      this.stats.reopens++;
    });
    this.reopening = p;
    // A failed reopen is reported by the next request (which tries once more).
    p.catch(() => {}).finally(() => {
      if (this.reopening === p) this.reopening = undefined;
    });
  }

  private onData(chunk: Uint8Array): void {
    if (this.flight) this.flight.gotData = true;
    try {
      if (this.opts.framing === "tcp") {
        for (const frame of this.mbap.push(chunk)) {
          const f = this.flight;
          if (f && frame.transactionId === f.transactionId) this.finish()?.resolve(frame.pdu);
          else {
            this.stats.strayReplies++;
            this.log.debug(
              { tid: frame.transactionId },
              "modbus: dropped a reply that matches no request in flight",
            );
          }
        }
        return;
      }
      const f = this.flight;
      if (!f) {
        this.stats.strayReplies++;
        return;
      }
      const pdu = this.rtu.push(chunk, {
        unitId: f.unitId,
        functionCode: f.request[0] ?? 0,
        pduLength: f.pduLength,
      });
      if (pdu) this.finish()?.resolve(pdu);
    } catch (e) {
      this.resetLink(toNodiError(e, "decode"));
    }
  }
}
