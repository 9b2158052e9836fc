/**
 * The least possible work for the scale bench's job, as ONE process: reads N Modbus TCP
 * simulators with modbus-serial (`readHoldingRegisters(0, tags)` every `period` ms each, one
 * request in flight per connection) and writes each poll's values to Redis with one raw
 * `XADD` (fields p, s, n, d = the JSON array `[[path, value, "good", ts], …]`, as a TagBus
 * entry: no validation, no deadband, no current values, no seq script). `bench/scale/run.ts`
 * runs it against the same simulators and Redis as the Nodi Edge apps, and measures its CPU.
 *
 *   bun bench/scale/baseline.ts --redis URL --ports P1,P2,… --tags 30 --period 100
 *
 * Prints `ready` once every connection is open. Reads commands on stdin: `mark` prints one
 * JSON line `{ "polls": …, "updates": …, "errors": … }` (counts so far), `stop` prints it and
 * exits.
 */

import { parseArgs } from "node:util";
import { createClient } from "@redis/client";
import ModbusRTU from "modbus-serial";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    redis: { type: "string" },
    ports: { type: "string" },
    tags: { type: "string", default: "30" },
    period: { type: "string", default: "100" },
  },
});
if (!values.redis || !values.ports) {
  console.error("usage: baseline.ts --redis URL --ports P1,P2,… [--tags 30] [--period 100]");
  process.exit(64);
}
const ports = values.ports.split(",").map(Number);
const tags = Number(values.tags);
const period = Number(values.period);

const redis = createClient({ url: values.redis, RESP: 2 });
await redis.connect();
let polls = 0;
let updates = 0;
let errors = 0;
const timers: ReturnType<typeof setInterval>[] = [];
const clients: ModbusRTU[] = [];

await Promise.all(
  ports.map(async (port, c) => {
    const m = new ModbusRTU();
    await m.connectTCP("127.0.0.1", { port });
    m.setID(1);
    m.setTimeout(2000);
    clients.push(m);
    const id = `base-${c}`;
    const key = `bench:base:s:${id}`;
    const paths = Array.from({ length: tags }, (_, i) => JSON.stringify(`/${id}/v${i}`));
    let seq = 0;
    let busy = false;
    timers.push(
      setInterval(async () => {
        if (busy) return;
        busy = true;
        try {
          const r = await m.readHoldingRegisters(0, tags);
          const ts = Date.now();
          let d = "[";
          for (let i = 0; i < tags; i++)
            d += `${i ? "," : ""}[${paths[i]},${r.data[i]},"good",${ts}]`;
          d += "]";
          await redis.sendCommand([
            "XADD",
            key,
            "MAXLEN",
            "~",
            "100000",
            "*",
            "p",
            id,
            "s",
            String(seq + 1),
            "n",
            String(tags),
            "d",
            d,
          ]);
          seq += tags;
          polls++;
          updates += tags;
        } catch {
          errors++;
        } finally {
          busy = false;
        }
      }, period),
    );
  }),
);
console.log("ready");

// stdin: `mark` prints the counters so far, `stop` (or end of input) prints them and exits
const counters = () => JSON.stringify({ polls, updates, errors });
for await (const line of console) {
  if (line.trim() === "mark") console.log(counters());
  if (line.trim() === "stop") break;
}
for (const t of timers) clearInterval(t);
console.log(counters());
for (const m of clients) m.close(() => {});
redis.destroy();
process.exit(0);
