/**
 * A minimal Modbus TCP responder for `bench/modbus`: answers every Read Holding Registers
 * (function 3) or Read Input Registers (4) request from a prepared buffer, so that it costs
 * less per request than any client it serves and the bench measures the client (Modbus
 * Application Protocol v1.1b3 §6.3; MBAP header, Modbus Messaging on TCP/IP v1.0b §3.1.3).
 * Register i holds `(i * 7919) & 0xffff`. Other functions get exception 1 (illegal function).
 * Runs in its own process:
 *
 *   bun bench/modbus/responder.ts [--port 0]
 *
 * Prints `{"listen":"127.0.0.1:PORT"}` once listening; exits on SIGTERM.
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { port: { type: "string", default: "0" } },
});

/** Reply (MBAP + PDU) for a read of `count` registers, by count; transaction id patched in. */
const replies = new Map<number, Buffer>();
function replyFor(fc: number, count: number): Buffer {
  const key = fc * 1000 + count;
  let r = replies.get(key);
  if (!r) {
    r = Buffer.alloc(9 + 2 * count);
    r.writeUInt16BE(0, 2); // protocol id
    r.writeUInt16BE(3 + 2 * count, 4); // length: unit + fc + byte count + data
    r[7] = fc;
    r[8] = 2 * count;
    for (let i = 0; i < count; i++) r.writeUInt16BE((i * 7919) & 0xffff, 9 + 2 * i);
    replies.set(key, r);
  }
  return r;
}

const exception = Buffer.from([0, 0, 0, 0, 0, 3, 0, 0x80, 1]);

type Conn = { pending: Buffer | undefined; unsent: Buffer | undefined };

function send(s: import("bun").Socket<Conn>, b: Buffer): void {
  if (s.data.unsent) {
    s.data.unsent = Buffer.concat([s.data.unsent, b]);
    return;
  }
  const n = s.write(b);
  if (n < b.length) s.data.unsent = Buffer.from(b.subarray(Math.max(0, n)));
}

const server = Bun.listen<Conn>({
  hostname: "127.0.0.1",
  port: Number(values.port),
  socket: {
    open(s) {
      s.data = { pending: undefined, unsent: undefined };
    },
    drain(s) {
      const u = s.data.unsent;
      s.data.unsent = undefined;
      if (u) send(s, u);
    },
    data(s, chunk) {
      let buf = s.data.pending ? Buffer.concat([s.data.pending, chunk]) : Buffer.from(chunk);
      const out: Buffer[] = [];
      while (buf.length >= 7) {
        const len = buf.readUInt16BE(4);
        if (buf.length < 6 + len) break;
        const fc = buf[7]!;
        let r: Buffer;
        if ((fc === 3 || fc === 4) && len >= 6) {
          const count = buf.readUInt16BE(10);
          r = Buffer.from(replyFor(fc, Math.min(count, 125)));
        } else {
          r = Buffer.from(exception);
          r[7] = 0x80 | fc;
        }
        r[0] = buf[0]!;
        r[1] = buf[1]!;
        r[6] = buf[6]!; // unit id
        out.push(r);
        buf = buf.subarray(6 + len);
      }
      s.data.pending = buf.length > 0 ? Buffer.from(buf) : undefined;
      if (out.length === 1) send(s, out[0]!);
      else if (out.length > 1) send(s, Buffer.concat(out));
    },
  },
});
console.log(JSON.stringify({ listen: `127.0.0.1:${server.port}` }));
process.on("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});
