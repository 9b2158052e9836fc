import { NodiError } from "../../core/errors.ts";
import { type Logger, silentLogger } from "../../core/log.ts";
import { encodeRtu, RtuReplyMatcher } from "./framing-rtu.ts";
import { encodeMbap, MbapDecoder } from "./framing-tcp.ts";
import type { Link, LinkOpener } from "./link.ts";
import { expectedResponseLength } from "./pdu.ts";

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
  resolve(pdu: Uint8Array): void;
  reject(e: NodiError): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * One Modbus link with one request in flight at a time: frames requests, matches replies to
 * the request in flight (transaction id on TCP; unit id, function code, length and CRC on
 * RTU), and enforces the per-request timeout and the inter-request delay. A reply that does
 * not belong to the request in flight is counted in `strayReplies` and dropped.
 *
 * Not a queue: the runtime never issues two requests at once; a second concurrent call is
 * refused with a NodiError `internal`.
 */
export class ModbusClient {
  private link: Link | undefined;
  private flight: InFlight | undefined;
  private nextTid = 1;
  private lastDoneAt = 0;
  private readonly mbap = new MbapDecoder();
  private readonly rtu = new RtuReplyMatcher();
  private linkLost: ((e: NodiError) => void) | undefined;
  private readonly log: Logger;
  /** Replies dropped because they did not belong to the request in flight. */
  strayReplies = 0;

  constructor(private readonly opts: ModbusClientOptions) {
    this.log = opts.log ?? silentLogger;
  }

  /** True while the link is up. */
  get connected(): boolean {
    return this.link !== undefined;
  }

  /** Registers the callback for a link that breaks outside a request. */
  onLinkLost(cb: (e: NodiError) => void): void {
    this.linkLost = cb;
  }

  /**
   * Opens the link (closing a previous one first).
   * @throws NodiError `timeout` / `communication`.
   */
  async connect(): Promise<void> {
    this.close();
    this.mbap.reset();
    this.rtu.reset();
    let me: Link | undefined;
    const link = await this.opts.open(
      {
        onData: (chunk) => {
          if (me && this.link === me) this.onData(chunk);
        },
        onClose: (err) => {
          if (me && this.link === me) this.dropLink(err.message);
        },
      },
      this.opts.connectTimeoutMs,
    );
    me = link;
    this.link = link;
  }

  /** Closes the link; a request in flight fails with `communication`. Never throws. */
  close(): void {
    const link = this.link;
    this.link = undefined;
    link?.close();
    this.failFlight(new NodiError("communication", "link closed", "disconnected"));
  }

  /**
   * Sends one request PDU to `unitId` and waits for its reply.
   * @returns the reply PDU (possibly an exception PDU; see `parseResponse`).
   * @throws NodiError `communication` when not connected or the link breaks, `timeout` after
   *   `timeoutMs`, `communication` (`framing_error`) on a corrupt TCP stream.
   */
  async request(unitId: number, pdu: Uint8Array): Promise<Uint8Array> {
    if (this.flight)
      throw new NodiError("internal", "a Modbus request is already in flight on this link");
    const delay = this.opts.interRequestDelayMs ?? 0;
    if (delay > 0) {
      const wait = this.lastDoneAt + delay - performance.now();
      if (wait > 0) await Bun.sleep(wait);
    }
    const link = this.link;
    if (!link) throw new NodiError("communication", "not connected", "disconnected");
    const pduLength = expectedResponseLength(pdu) ?? 0;
    return await new Promise<Uint8Array>((resolve, reject) => {
      const transactionId = this.nextTid;
      this.nextTid = this.nextTid === 0xffff ? 1 : this.nextTid + 1;
      const timer = setTimeout(() => {
        this.finish();
        reject(
          new NodiError(
            "timeout",
            `no reply from unit ${unitId} within ${this.opts.timeoutMs} ms`,
            "timeout",
            {
              function_code: pdu[0],
            },
          ),
        );
      }, this.opts.timeoutMs);
      this.flight = { unitId, request: pdu, transactionId, pduLength, resolve, reject, timer };
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

  private dropLink(reason: string): void {
    const link = this.link;
    this.link = undefined;
    link?.close();
    const e = new NodiError("communication", reason, "disconnected");
    if (this.flight) this.failFlight(e);
    else this.linkLost?.(e);
  }

  private onData(chunk: Uint8Array): void {
    try {
      if (this.opts.framing === "tcp") {
        for (const frame of this.mbap.push(chunk)) {
          const f = this.flight;
          if (f && frame.transactionId === f.transactionId) this.finish()?.resolve(frame.pdu);
          else {
            this.strayReplies++;
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
        this.strayReplies++;
        return;
      }
      const pdu = this.rtu.push(chunk, {
        unitId: f.unitId,
        functionCode: f.request[0] ?? 0,
        pduLength: f.pduLength,
      });
      if (pdu) this.finish()?.resolve(pdu);
    } catch (e) {
      this.dropLink(e instanceof Error ? e.message : String(e));
    }
  }
}
