import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { displayNumber, formatValue } from "../../src/cli/commands/tag.ts";
import { main } from "../../src/cli/main.ts";
import { EXIT } from "../../src/core/exit-codes.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { sample } from "../contract/tagbus.contract.ts";
import { RedisServer } from "../support/redis-server.ts";
import { uniquePrefix } from "../support/tmp.ts";

// `nodi-edge tag list` showed a float32 reading as 181.9350128173828.

const redis = new RedisServer();
const prefix = uniquePrefix("cli-fmt");
let app: RedisTagBus;
/** A float32 as a double, as the trial's press showed it. */
const FORCE = 181.9350128173828;

async function run(...argv: string[]) {
  let out = "";
  const io = {
    out: (s: string) => {
      out += s;
    },
    err: () => {},
    env: { NE_REDIS_URL: redis.url, NE_REDIS_PREFIX: prefix },
  };
  const code = await main(argv, { io });
  return { code, out };
}

beforeAll(async () => {
  await redis.start();
  app = await createRedisTagBus({ url: redis.url, prefix, producer: "press1", blockMs: 200 });
  await app.publish([
    sample("/press1/force", FORCE, { ts: 0 }),
    sample("/press1/count", 123456789, { ts: 0 }),
    sample("/press1/mode", "auto", { ts: 0 }),
  ]);
}, 30_000);
afterAll(async () => {
  await app?.close(500);
  await redis.shutdown();
});

describe("numbers in human output", () => {
  test("tag list and tag get print 7 significant digits; --json keeps the full value", async () => {
    expect(Math.fround(FORCE)).toBe(FORCE);
    const list = await run("tag", "list", "/press1/");
    expect(list.code).toBe(EXIT.OK);
    expect(list.out).not.toContain("181.9350128173828");
    expect(list.out).toMatch(/\/press1\/force\s+181\.935\s/);
    expect(list.out).toMatch(/\/press1\/count\s+123456789\s/);
    expect(list.out).toMatch(/\/press1\/mode\s+"auto"\s/);
    const get = await run("tag", "get", "/press1/force");
    expect(get.out).toStartWith("/press1/force = 181.935 (good)");
    const json = await run("--json", "tag", "list", "/press1/");
    expect(JSON.parse(json.out)).toContainEqual(
      expect.objectContaining({ path: "/press1/force", value: 181.9350128173828 }),
    );
  });

  test("displayNumber: 7 significant digits, integers and integer parts never rounded", () => {
    expect(displayNumber(181.9350128173828)).toBe("181.935");
    expect(displayNumber(Math.fround(0.1))).toBe("0.1");
    expect(displayNumber(12.5)).toBe("12.5");
    expect(displayNumber(-40)).toBe("-40");
    expect(displayNumber(0.000123456789)).toBe("0.0001234568");
    expect(displayNumber(12345678.25)).toBe("12345678");
    expect(displayNumber(2 ** 53)).toBe("9007199254740992");
    expect(displayNumber(1e300 / 3)).toBe("3.333333e+299");
    expect(displayNumber(Number.NaN)).toBe("NaN");
    expect(
      formatValue({
        path: "/a/b",
        value: Math.fround(36.6),
        quality: "good",
        ts: 0,
        seq: 1,
        producer: "a",
      } as Parameters<typeof formatValue>[0]),
    ).toBe("/a/b = 36.6 (good) 1970-01-01T00:00:00.000Z seq=1 producer=a");
  });
});
