import { createServer, type Server, type Socket } from "node:net";
import { NodiError } from "../../core/errors.ts";
import { crcOk, encodeRtu } from "../../drivers/modbus/framing-rtu.ts";
import { concat, encodeMbap, MbapDecoder } from "../../drivers/modbus/framing-tcp.ts";
import type { Link } from "../../drivers/modbus/link.ts";
import { applyLineSettings, openFileLink } from "../../drivers/modbus/serial-link.ts";
import type { Faults } from "./faults.ts";
import { handlePdu } from "./handler.ts";
import type { RegisterStore } from "./store.ts";

/** Shared state the transports serve. */
export interface ServeContext {
  store: RegisterStore;
  faults: Faults;
  /** Answer only this unit id; undefined = any. */
  unitId?: number;
  /**
   * Several devices behind one port or line (a serial gateway, an RS-485 bus): each listed
   * unit id answers from its own registers and with its own request faults (`delay_ms`,
   * `silent`, `exceptions`, limits); a unit id not listed is a device that is not there
   * (exception 11 on TCP, silence on RTU). The link faults (`drop_after_requests`,
   * `idle_close_ms`, `single_client`, `stray_replies`, `corrupt_replies`) stay `faults`'.
   * `store`, `unitId` are unused when set.
   */
  units?: ReadonlyMap<number, ServedUnit>;
  stats: SimStats;
}

/** Counters of one unit of {@link ServeContext.units}. */
export interface UnitStats {
  /** Requests addressed to this unit id (broadcasts not counted). */
  requests: number;
  /** Requests it answered (a reply or an exception). */
  answered: number;
}

/** One device behind the port or line: its registers, request faults, counters, and whether it is dead. */
export interface ServedUnit {
  store: RegisterStore;
  faults: Faults;
  stats?: UnitStats;
  /** True: the device does not answer at all (killed), on TCP as on RTU. */
  dead?: boolean;
}

/** Counters of a running simulator. */
export interface SimStats {
  requests: number;
  /** RTU broadcasts (unit 0) received; never answered. */
  broadcasts: number;
  connections: number;
  refused: number;
}

/** Sends bytes of one client (socket or serial line). */
type Send = (bytes: Uint8Array) => void;

/**
 * Splits an RTU request stream into request frames: FC1–6 are 8 bytes, FC15/16 are
 * 9 + byte count (Modbus over Serial Line v1.02 §2.5.1); other codes are taken as 8 bytes.
 * A frame with a bad CRC is skipped one byte at a time (resynchronisation).
 */
export class RtuRequestSplitter {
  private buf: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): Uint8Array[] {
    this.buf = this.buf.length === 0 ? chunk : concat(this.buf, chunk);
    const out: Uint8Array[] = [];
    let at = 0;
    const b = this.buf;
    while (b.length - at >= 8) {
      const fc = b[at + 1] ?? 0;
      const len = fc === 15 || fc === 16 ? 9 + (b[at + 6] ?? 0) : 8;
      if (b.length - at < len) break;
      const frame = b.subarray(at, at + len);
      if (crcOk(frame)) {
        out.push(frame.slice());
        at += len;
      } else at++;
    }
    this.buf = b.subarray(at).slice();
    return out;
  }
}

/**
 * Serves one client: decodes request frames, answers them through {@link handlePdu} with the
 * scripted faults (delay, stray replies, drop after N requests, idle close).
 */
class ClientSession {
  private count = 0;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly mbap = new MbapDecoder();
  private readonly rtu = new RtuRequestSplitter();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: ServeContext,
    private readonly framing: "tcp" | "rtu",
    private readonly send: Send,
    private readonly drop: () => void,
  ) {
    this.armIdle();
  }

  private armIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const ms = this.ctx.faults.idle_close_ms;
    this.idleTimer = ms > 0 ? setTimeout(() => this.drop(), ms) : undefined;
  }

  stop(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
  }

  onData(chunk: Uint8Array): void {
    this.armIdle();
    if (this.framing === "tcp") {
      let frames: ReturnType<MbapDecoder["push"]>;
      try {
        frames = this.mbap.push(chunk);
      } catch {
        this.drop();
        return;
      }
      for (const f of frames) this.serve(f.unitId, f.pdu, f.transactionId);
    } else {
      for (const frame of this.rtu.push(chunk))
        this.serve(frame[0] ?? 0, frame.subarray(1, frame.length - 2), 0);
    }
  }

  private serve(unit: number, pdu: Uint8Array, tid: number): void {
    const { ctx } = this;
    ctx.stats.requests++;
    this.count++;
    const dropNow =
      ctx.faults.drop_after_requests > 0 && this.count >= ctx.faults.drop_after_requests;
    if (dropNow) {
      this.drop();
      return;
    }
    if (this.framing === "rtu" && unit === 0) {
      // A broadcast: every device on the line executes it and none answers (Modbus over
      // Serial Line v1.02 §2.1). Only writes are broadcast; a read is ignored.
      ctx.stats.broadcasts++;
      const fc = pdu[0] ?? 0;
      if (fc === 5 || fc === 6 || fc === 15 || fc === 16) {
        const all = ctx.units
          ? [...ctx.units.values()]
          : [{ store: ctx.store, faults: ctx.faults }];
        for (const t of all) handlePdu(t.store, t.faults, pdu);
      }
      return;
    }
    let reply: Uint8Array | undefined;
    const target = ctx.units
      ? ctx.units.get(unit)
      : ctx.unitId === undefined || unit === ctx.unitId
        ? { store: ctx.store, faults: ctx.faults }
        : undefined;
    const unitStats = (target as ServedUnit | undefined)?.stats;
    if (unitStats) unitStats.requests++;
    if (!target) {
      // On TCP a gateway answers 11 GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND; on RTU, silence.
      if (this.framing === "tcp") reply = new Uint8Array([(pdu[0] ?? 0) | 0x80, 11]);
    } else if (!(target as ServedUnit).dead) {
      const answer = handlePdu(target.store, target.faults, pdu);
      if ("reply" in answer) reply = answer.reply;
    }
    if (reply && unitStats) unitStats.answered++;
    if (!reply) return;
    const frame = this.frame(unit, tid, reply);
    if (this.framing === "tcp" && ctx.faults.corrupt_replies > 0) {
      ctx.faults.corrupt_replies--;
      frame[3] = 1; // protocol id 1
    }
    const stray = ctx.faults.stray_replies ? this.strayFrame(unit, tid, reply) : undefined;
    const delay = target?.faults.delay_ms ?? ctx.faults.delay_ms;
    if (delay > 0) {
      this.chain = this.chain.then(async () => {
        await Bun.sleep(delay);
        if (stray) this.send(stray);
        this.send(frame);
      });
    } else {
      if (stray) this.send(stray);
      this.send(frame);
    }
  }

  private frame(unit: number, tid: number, pdu: Uint8Array): Uint8Array {
    return this.framing === "tcp" ? encodeMbap(tid, unit, pdu) : encodeRtu(unit, pdu);
  }

  /** A plausible reply that must not be taken: other transaction id (TCP) or other unit (RTU), garbled data. */
  private strayFrame(unit: number, tid: number, pdu: Uint8Array): Uint8Array {
    const garbled = pdu.slice();
    for (let i = 2; i < garbled.length; i++) garbled[i] = 0xee;
    return this.framing === "tcp"
      ? encodeMbap((tid + 0x1000) & 0xffff, unit, garbled)
      : encodeRtu((unit + 1) & 0xff, garbled);
  }
}

/** A running transport of the simulator. */
export interface Listener {
  /** TCP port (0 for serial). */
  port: number;
  /** Closes every client connection (the listener keeps accepting). */
  dropClients(): void;
  stop(): Promise<void>;
}

/**
 * Serves Modbus TCP (`framing` tcp) or RTU over TCP (`framing` rtu) on `host:port`
 * (port 0 = a free port).
 */
export async function listenTcp(
  ctx: ServeContext,
  framing: "tcp" | "rtu",
  host: string,
  port: number,
): Promise<Listener> {
  const sockets = new Set<Socket>();
  const sessions = new Map<Socket, ClientSession>();
  const server: Server = createServer({ noDelay: true }, (sock) => {
    if (ctx.faults.single_client && sockets.size > 0) {
      ctx.stats.refused++;
      sock.destroy();
      return;
    }
    ctx.stats.connections++;
    sockets.add(sock);
    sock.setNoDelay(true);
    const session = new ClientSession(
      ctx,
      framing,
      (b) => {
        if (!sock.destroyed) sock.write(b);
      },
      () => sock.destroy(),
    );
    sessions.set(sock, session);
    sock.on("data", (d: Buffer) => session.onData(d));
    sock.on("error", () => {});
    sock.on("close", () => {
      session.stop();
      sockets.delete(sock);
      sessions.delete(sock);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: Error & { code?: string }) =>
      reject(
        new NodiError(
          "communication",
          `cannot listen on ${host}:${port}: ${e.code === "EADDRINUSE" ? "the port is in use (pick another with --port, or 0 for any free port)" : e.message}`,
          "listen_failed",
          { host, port, code: e.code },
          { cause: e },
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === "object" && addr ? addr.port : port,
    dropClients: () => {
      for (const s of sockets) s.destroy();
    },
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Serves RTU on a serial device file (a real port, or one end of a `socat` pty pair). The
 * line is put in raw mode with `stty` at `baudRate`.
 */
export function listenSerial(ctx: ServeContext, path: string, baudRate = 9600): Listener {
  applyLineSettings({ path, baudRate, parity: "none", dataBits: 8, stopBits: 1 });
  let link: Link | undefined;
  const session = new ClientSession(
    ctx,
    "rtu",
    (b) => link?.write(b),
    () => {},
  );
  link = openFileLink(path, { onData: (d) => session.onData(d), onClose: () => {} });
  ctx.stats.connections++;
  return {
    port: 0,
    dropClients: () => {},
    stop: async () => {
      session.stop();
      link?.close();
    },
  };
}
