// node-redis's core package alone (`@redis/client`, the client the `redis` package re-exports):
// without the RediSearch, JSON, Bloom and TimeSeries modules `redis` bundles, which the TagBus
// never uses (−159 kB of minified JS, ≈ −0.5 MB of executable with bytecode; issue 15).
import { createClient } from "@redis/client";
import type { Logger } from "../core/log.ts";

/** A node-redis client as the TagBus uses it (RESP2, raw `sendCommand`). */
export type BusClient = ReturnType<typeof makeClient>;

function makeClient(url: string) {
  return createClient({
    url,
    RESP: 2,
    disableOfflineQueue: true,
    socket: { connectTimeout: 2000, reconnectStrategy: (retries: number) => backoffMs(retries) },
  });
}

/**
 * Reconnect delay after `retries` failed attempts, in ms: 50, 100, 200, … capped at 2000,
 * with ±20 % jitter so that many apps do not reconnect in lock step.
 */
export function backoffMs(retries: number): number {
  const base = Math.min(2000, 50 * 2 ** Math.min(retries, 10));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/**
 * Creates a client for `url` that never queues commands while disconnected
 * (`disableOfflineQueue`: a command fails at once instead of growing a queue without bound)
 * and reconnects forever with {@link backoffMs}. Starts connecting; does not wait.
 * Connection errors are logged once per outage at `warn`.
 */
export function openClient(url: string, log: Logger, role: string): BusClient {
  const client = makeClient(url);
  let down = false;
  client.on("error", (e: Error) => {
    if (!down) log.warn({ role, err: e.message }, "tagbus: redis connection lost");
    down = true;
  });
  client.on("ready", () => {
    if (down) log.info({ role }, "tagbus: redis connection restored");
    down = false;
  });
  client.connect().catch((e: Error) => log.debug({ role, err: e.message }, "tagbus: connect"));
  return client;
}

/** Waits until `client` is ready or `timeoutMs` passed; returns readiness. */
export async function waitReady(
  client: BusClient,
  timeoutMs: number,
  stop?: () => boolean,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!client.isReady) {
    if (Date.now() >= deadline || stop?.()) return false;
    await Bun.sleep(20);
  }
  return true;
}

/** Closes a client without waiting for a blocked command. Never throws. */
export function destroyClient(client: BusClient): void {
  try {
    client.destroy();
  } catch {
    // already closed
  }
}

const shas = new Map<string, string>();

/**
 * Runs a Lua script by EVALSHA, loading it (EVAL) when Redis answers NOSCRIPT (first use, or
 * after a Redis restart emptied the script cache).
 */
export async function runScript<T>(
  client: BusClient,
  lua: string,
  keys: string[],
  args: string[],
): Promise<T> {
  let sha = shas.get(lua);
  if (!sha) {
    sha = new Bun.CryptoHasher("sha1").update(lua).digest("hex");
    shas.set(lua, sha);
  }
  const tail = [String(keys.length), ...keys, ...args];
  try {
    return (await client.sendCommand(["EVALSHA", sha, ...tail])) as T;
  } catch (e) {
    if (!(e instanceof Error) || !e.message.includes("NOSCRIPT")) throw e;
    return (await client.sendCommand(["EVAL", lua, ...tail])) as T;
  }
}
