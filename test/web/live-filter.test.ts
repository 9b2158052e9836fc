import { afterAll, beforeAll, expect, test } from "bun:test";
import type { RedisTagBus } from "../../src/tagbus/index.ts";
import { MAX_MATCH_LENGTH, tagMatcher } from "../../src/web/live-hub.ts";
import { Client, modbusConn, startWebFixture, until, type WebFixture } from "./helpers.ts";

// A large connection (2,000 tags): the live stream's `match` filter runs on the server, so
// only the tags a page's filter box names cross the network, and the values of one bus
// batch go out as one SSE event.

const N = 2000;
const name = (i: number) => `t${String(i).padStart(4, "0")}`;
let fx: WebFixture;
let c: Client;
let app: RedisTagBus;

beforeAll(async () => {
  fx = await startWebFixture();
  c = new Client(fx.web.url);
  await c.login("admin", "correct horse");
  fx.store.apply({
    origin: "test",
    put: [
      {
        connection: modbusConn("big"),
        blocks: [
          {
            conn_id: "big",
            block_id: "hr",
            table: "holding_registers",
            address: 0,
            count: 100,
            period_ms: 100,
          },
        ],
        tags: Array.from({ length: N }, (_, i) => ({
          conn_id: "big",
          tag_name: name(i),
          block_id: "hr",
          address: i % 100,
          data_type: "uint16",
        })),
      },
    ],
  });
  app = await fx.otherBus("big");
});

afterAll(async () => {
  await fx.close();
});

/** Opens the stream with `query`, publishes every tag until `enough(seen)`; the tags seen and the events. */
async function streamed(query: string, enough: (seen: Set<string>) => boolean) {
  const res = await fetch(`${fx.web.url}/api/connections/big/stream${query}`, {
    headers: { cookie: c.cookie },
  });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  const seen = new Set<string>();
  let events = 0;
  let values = 0;
  let buf = "";
  const done = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += dec.decode(value);
      for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
        const ev = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (!ev.startsWith("event: values")) continue;
        events++;
        const data = JSON.parse(ev.slice(ev.indexOf("data: ") + 6)) as {
          tag: string;
          path: string;
        }[];
        for (const v of data) {
          if (v.path.startsWith("/system/")) continue;
          values++;
          seen.add(v.tag);
        }
        if (enough(seen)) return;
      }
    }
  })();
  let round = 0;
  await until(`the stream ${query}`, async () => {
    const ts = Date.now();
    round++;
    await app.publish(
      Array.from({ length: N }, (_, i) => ({
        path: `/big/${name(i)}`,
        value: round,
        quality: "good" as const,
        ts,
      })),
    );
    return await Promise.race([done.then(() => true), Bun.sleep(300).then(() => false)]);
  });
  // what else was on its way
  await Bun.sleep(200);
  await reader.cancel();
  return { seen, events, values };
}

test("tagMatcher: substring without wildcards, anchored glob with * and ?, case-insensitive", () => {
  expect(tagMatcher("temp")("Boiler_TEMP_1")).toBe(true);
  expect(tagMatcher("temp")("speed")).toBe(false);
  expect(tagMatcher("t01*")("t0123")).toBe(true);
  expect(tagMatcher("t01*")("xt0123")).toBe(false);
  expect(tagMatcher("t?1?0")("t0110")).toBe(true);
  expect(tagMatcher("t?1?0")("t01100")).toBe(false);
  expect(tagMatcher("a.b*")("axb1")).toBe(false); // regex characters are literal
  expect(tagMatcher("a.b*")("a.b1")).toBe(true);
  expect(() => tagMatcher("x".repeat(MAX_MATCH_LENGTH + 1))).toThrow(RangeError);
});

test("?match= streams only the matching tags of 2,000, batched into few events", async () => {
  const r = await streamed("?match=t01*", (seen) => seen.size >= 100);
  expect(r.seen.size).toBe(100);
  expect([...r.seen].every((t) => t.startsWith("t01"))).toBe(true);
  // one bus batch = one event, not one event per value
  expect(r.events).toBeLessThan(r.values);
});

test("?match= plus ?tags=: a trended tag outside the filter still arrives", async () => {
  const r = await streamed("?match=t019*&tags=t1999", (seen) => seen.size >= 11);
  expect([...r.seen].sort()).toEqual([
    ...Array.from({ length: 10 }, (_, i) => name(190 + i)),
    "t1999",
  ]);
});

test("without a filter every tag is streamed; a too long match is refused", async () => {
  const r = await streamed("", (seen) => seen.size >= N);
  expect(r.seen.size).toBe(N);
  const bad = await fetch(
    `${fx.web.url}/api/connections/big/stream?match=${"x".repeat(MAX_MATCH_LENGTH + 1)}`,
    { headers: { cookie: c.cookie } },
  );
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { error: { message: string } }).error.message).toContain("match");
});
