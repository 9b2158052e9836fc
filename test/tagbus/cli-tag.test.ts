import { afterAll, beforeAll, expect, test } from "bun:test";
import { parseWriteValue } from "../../src/cli/commands/tag.ts";
import { main } from "../../src/cli/main.ts";
import { EXIT } from "../../src/core/exit-codes.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { sample, until } from "../contract/tagbus.contract.ts";
import { RedisServer } from "../support/redis-server.ts";
import { uniquePrefix } from "../support/tmp.ts";

const redis = new RedisServer();
const prefix = uniquePrefix("cli-tag");
let app: RedisTagBus;

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      out: (s: string) => void out.push(s),
      err: (s: string) => void err.push(s),
      env: { NE_REDIS_URL: redis.url, NE_REDIS_PREFIX: prefix, NE_DB: "/nonexistent/x.db" },
    },
  };
}

beforeAll(async () => {
  await redis.start();
  app = await createRedisTagBus({ url: redis.url, prefix, producer: "mtc-01", blockMs: 200 });
  await app.publish([
    sample("/mtc-01/speed", 12.5, { ts: 0 }),
    sample("/mtc-01/mode", "auto", { ts: 0 }),
  ]);
});
afterAll(async () => {
  await app.close(500);
  await redis.shutdown();
});

test("tag get prints one value; --json prints the TagValue; unknown → 66", async () => {
  const a = io();
  expect(await main(["tag", "get", "/mtc-01/speed"], { io: a.io })).toBe(EXIT.OK);
  expect(a.out.join("")).toBe(
    "/mtc-01/speed = 12.5 (good) 1970-01-01T00:00:00.000Z seq=1 producer=mtc-01\n",
  );
  const b = io();
  expect(await main(["--json", "tag", "get", "/mtc-01/mode"], { io: b.io })).toBe(EXIT.OK);
  expect(JSON.parse(b.out.join(""))).toMatchObject({ path: "/mtc-01/mode", value: "auto", seq: 2 });
  const c = io();
  expect(await main(["tag", "get", "/mtc-01/none"], { io: c.io })).toBe(EXIT.NO_INPUT);
  const d = io();
  expect(await main(["tag", "get", "bad path"], { io: d.io })).toBe(EXIT.DATA);
  expect(d.err.join("")).toContain("invalid tag path");
});

test("tag list prints a table sorted by path", async () => {
  const a = io();
  expect(await main(["tag", "list", "/mtc-01/"], { io: a.io })).toBe(EXIT.OK);
  const lines = a.out.join("").trim().split("\n");
  expect(lines[0]).toMatch(/^path\s+value\s+quality/);
  expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(["/mtc-01/mode", "/mtc-01/speed"]);
});

test("tag watch --json prints one line per event and stops after --count", async () => {
  const a = io();
  const run = main(["tag", "watch", "/mtc-01/*", "--json", "--count", "2"], { io: a.io });
  await until(() => a.out.length >= 1, 10_000, "resync line");
  await app.publish([sample("/mtc-01/speed", 13)]);
  await app.publish([sample("/mtc-01/speed", 14)]);
  expect(await run).toBe(EXIT.OK);
  const events = a.out
    .join("")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(events.map((e) => e.kind)).toEqual(["resync", "value", "value"]);
  expect(events.slice(1).map((e) => e.value.value)).toEqual([13, 14]);
});

test("tag write prints the result; failure → non-zero exit", async () => {
  const srv = await app.serveWrites("mtc-01", async (req) =>
    req.path === "/mtc-01/ro" ? { ok: false, reason: "read_only" } : { ok: true },
  );
  try {
    const a = io();
    expect(await main(["tag", "write", "/mtc-01/speed", "42"], { io: a.io })).toBe(EXIT.OK);
    expect(a.out.join("")).toContain("done");
    const b = io();
    expect(await main(["tag", "write", "/mtc-01/ro", "1"], { io: b.io })).toBe(EXIT.DATA);
    expect(b.out.join("")).toContain("failed: read_only");
  } finally {
    await srv.close();
  }
  const c = io();
  expect(await main(["tag", "write", "/mtc-02/x", "1", "--timeout-ms", "200"], { io: c.io })).toBe(
    EXIT.UNAVAILABLE,
  );
  expect(c.out.join("")).toContain("failed: timeout");
  expect(c.out.join("")).toContain(
    "failed: timeout: no result within 200 ms; mtc-02 has no app (never published a state)",
  );
  expect(c.err.join("")).toContain("note: mtc-02 has no app (never published a state)");
});

test("tag write to an app that is not running names its last state in the timeout", async () => {
  const sys = await createRedisTagBus({ url: redis.url, prefix, producer: "line1" });
  try {
    await sys.publish([sample("/system/line1/state", "STOP", { ts: Date.now() - 180_000 })]);
    for (let i = 0; i < 200 && (await sys.get("/system/line1/state"))?.value !== "STOP"; i++) {
      await Bun.sleep(50);
    }
    const a = io();
    expect(
      await main(["tag", "write", "/line1/setpoint", "5", "--timeout-ms", "300"], { io: a.io }),
    ).toBe(EXIT.UNAVAILABLE);
    expect(a.out.join("")).toContain(
      "failed: timeout: no result within 300 ms; the app of line1 is not running (last state STOP 3m ago)",
    );
    expect(a.err.join("")).toContain(
      "note: the app of line1 is not running (last state STOP 3m ago)",
    );
  } finally {
    await sys.close(500);
  }
});

test("VALUE parsing", () => {
  expect(parseWriteValue("true")).toBe(true);
  expect(parseWriteValue("-1.5e3")).toBe(-1500);
  expect(parseWriteValue("abc")).toBe("abc");
  expect(parseWriteValue('"12"')).toBe("12");
  expect(parseWriteValue("12", true)).toBe("12");
  // Loose numbers stay text, which the owning app's driver refuses for numeric tags.
  for (const t of ["0x10", " 7 ", "abc", "NaN", "", "Infinity"]) expect(parseWriteValue(t)).toBe(t);
  expect(parseWriteValue("+7")).toBe(7);
});

test("tag watch piped into a reader that closes early (| head -1) exits 0 without a stack trace", async () => {
  // The exact failing command: `nodi-edge tag watch '/mtc-01/*' | head -1` died with
  // "EPIPE: broken pipe, write" and a stack trace once head had gone. Here the test is `head`:
  // it reads the first line, closes its end of the pipe, and keeps publishing.
  const proc = Bun.spawn(
    [process.execPath, "run", "src/cli/main.ts", "tag", "watch", "/mtc-01/*"],
    {
      env: { ...process.env, NE_REDIS_URL: redis.url, NE_REDIS_PREFIX: prefix },
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  try {
    const reader = proc.stdout.getReader();
    await reader.read(); // the first line (the resync of current values)
    await reader.cancel(); // closes the read end, as head does when it exits
    let code: number | undefined;
    proc.exited.then((c) => {
      code = c;
    });
    for (let i = 0; code === undefined && i < 400; i++) {
      await app.publish([sample("/mtc-01/speed", i, { ts: i })]);
      await Bun.sleep(25);
    }
    expect(code).toBe(0);
    expect(await new Response(proc.stderr).text()).not.toContain("EPIPE");
  } finally {
    proc.kill("SIGKILL");
    await proc.exited;
  }
}, 20_000);
