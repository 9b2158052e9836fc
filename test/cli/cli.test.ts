import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { CliBus } from "../../src/cli/context.ts";
import type { TagSample } from "../../src/core/tag-value.ts";
import { openStore } from "../../src/store/store.ts";
import { createRedisTagBus } from "../../src/tagbus/redis-tagbus.ts";
import { freePort } from "../support/ports.ts";
import { RedisServer } from "../support/redis-server.ts";
import { runCli } from "../support/run-cli.ts";
import { tempDir, uniquePrefix } from "../support/tmp.ts";

const ROOT = join(import.meta.dir, "../..");
const EXAMPLES = join(ROOT, "examples/demo");
const dir = tempDir("ne-cli-");
const redis = new RedisServer();
beforeAll(async () => {
  await redis.start();
});
afterAll(async () => {
  await redis.shutdown();
  dir.cleanup();
});
let n = 0;
const newDb = () => join(dir.path, `c${++n}.sqlite`);

/** A TagBus recorder for the CLI: keeps what was published. */
class Recorder implements CliBus {
  batches: TagSample[][] = [];
  async publish(samples: TagSample[]) {
    this.batches.push(samples);
  }
  async close() {
    return true;
  }
  get paths() {
    return this.batches
      .flat()
      .map((s) => `${s.path}=${typeof s.value === "number" ? "ts" : s.value}`);
  }
}

function run(argv: string[], env: Record<string, string> = {}, bus?: Recorder) {
  return runCli(argv, { env, ...(bus ? { busFactory: async () => bus } : {}) });
}

describe("nodi-edge (in process)", () => {
  test("db init, import, conn list --json, conn show", async () => {
    const db = newDb();
    expect((await run(["db", "init"], { NE_DB: db })).code).toBe(0);
    const bus = new Recorder();
    const imp = await run(["--db", db, "import", EXAMPLES], {}, bus);
    expect(imp.code).toBe(0);
    expect(imp.out).toContain("line1   added (created)");
    expect(bus.paths).toEqual([
      "/system/supervisor/conn_added=line1",
      "/system/supervisor/conn_added=meter1",
      "/system/supervisor/conn_added=press1",
    ]);
    const list = await run(["conn", "list", "--json", "--db", db]);
    expect(list.code).toBe(0);
    const conns = JSON.parse(list.out) as { conn_id: string; tags: number }[];
    expect(conns.map((c) => [c.conn_id, c.tags])).toEqual([
      ["line1", 12],
      ["meter1", 8],
      ["press1", 6],
    ]);
    const show = await run(["conn", "show", "meter1", "--db", db]);
    expect(show.out).toContain("energy_total");
    const showJson = JSON.parse((await run(["--json", "conn", "show", "line1", "--db", db])).out);
    expect(showJson.connection.port).toBe(15020);
    expect((await run(["conn", "show", "nope", "--db", db])).code).toBe(66);
  });

  test("import --dry-run changes nothing; a bad CSV exits 65 with every error and changes nothing", async () => {
    const db = newDb();
    const bus = new Recorder();
    const dry = await run(["--db", db, "import", "--dry-run", EXAMPLES], {}, bus);
    expect(dry.code).toBe(0);
    expect(dry.out).toContain("dry run");
    expect(bus.batches).toEqual([]);
    const bad = join(dir.path, "bad");
    await Bun.write(
      join(bad, "connections.csv"),
      "conn_id,protocol,host,port,unit_id\nplc1,modbus-tcp,h,99999,1\nPLC 2,modbus-tcp,h,1,1\n",
    );
    const r = await run(["--db", db, "import", bad], {}, bus);
    expect(r.code).toBe(65);
    expect(r.err).toContain(
      `${join(bad, "connections.csv")}:2:4 (port): port must be at most 65535, got 99999`,
    );
    expect(r.err).toContain(`${join(bad, "connections.csv")}:3:1 (conn_id)`);
    const json = await run(["--db", db, "--json", "import", bad], {}, bus);
    expect(JSON.parse(json.out).errors).toHaveLength(2);
    const s = openStore(db);
    expect(s.listConnections()).toEqual([]);
    s.close();
  });

  test("conn add (options and key=value), --update, disable/enable, rm: each announced", async () => {
    const db = newDb();
    const bus = new Recorder();
    const add = await run(
      [
        "--db",
        db,
        "conn",
        "add",
        "plc9",
        "protocol=modbus-tcp",
        "--host",
        "10.0.0.9",
        "port=502",
        "--unit-id",
        "3",
        "description=Test PLC",
      ],
      {},
      bus,
    );
    expect(add.code).toBe(0);
    expect(
      (await run(["--db", db, "conn", "add", "plc9", "protocol=modbus-tcp"], {}, bus)).code,
    ).toBe(65);
    const badAdd = await run(
      ["--db", db, "conn", "add", "plcx", "protocol=modbus-tcp", "host=h"],
      {},
      bus,
    );
    expect(badAdd.code).toBe(65);
    expect(badAdd.err).toContain("port is required for protocol modbus-tcp");
    expect((await run(["--db", db, "conn", "add", "plcy", "colour=red"], {}, bus)).code).toBe(65);
    expect(
      (await run(["--db", db, "conn", "add", "--update", "plc9", "port=5020"], {}, bus)).code,
    ).toBe(0);
    expect((await run(["--db", db, "conn", "disable", "plc9"], {}, bus)).code).toBe(0);
    expect((await run(["--db", db, "conn", "enable", "plc9"], {}, bus)).code).toBe(0);
    expect((await run(["--db", db, "conn", "rm", "plc9"], {}, bus)).code).toBe(0);
    expect((await run(["--db", db, "conn", "rm", "plc9"], {}, bus)).code).toBe(66);
    expect(bus.paths).toEqual([
      "/system/supervisor/conn_added=plc9",
      "/system/plc9/config_reload=ts",
      "/system/supervisor/conn_removed=plc9",
      "/system/supervisor/conn_added=plc9",
      "/system/supervisor/conn_removed=plc9",
    ]);
  });

  test("conn add with address_base 1 (key=value or --address-base); conn show says it; 2 is refused", async () => {
    const db = newDb();
    const bus = new Recorder();
    const common = ["protocol=modbus-tcp", "host=10.0.0.9", "port=502"];
    expect(
      (await run(["--db", db, "conn", "add", "plc1", ...common, "address_base=1"], {}, bus)).code,
    ).toBe(0);
    expect(
      (await run(["--db", db, "conn", "add", "plc2", ...common, "--address-base", "1"], {}, bus))
        .code,
    ).toBe(0);
    expect((await run(["--db", db, "conn", "add", "plc3", ...common], {}, bus)).code).toBe(0);
    const show = await run(["--db", db, "conn", "show", "plc1"]);
    expect(show.out.split("\n")).toContain("address_base: 1");
    expect((await run(["--db", db, "conn", "show", "plc2"])).out.split("\n")).toContain(
      "address_base: 1",
    );
    expect((await run(["--db", db, "conn", "show", "plc3"])).out.split("\n")).toContain(
      "address_base: 0",
    );
    const bad = await run(
      ["--db", db, "conn", "add", "plc4", ...common, "address_base=2"],
      {},
      bus,
    );
    expect(bad.code).toBe(65);
    expect(bad.err).toContain("address_base must be 0 (zero-based) or 1 (one-based), got 2");
    const help = await run(["conn", "add", "--help"]);
    expect(help.out).toContain("--address-base <number>");
  });

  test("export writes the same format; usage errors exit 64; --help exits 0", async () => {
    const db = newDb();
    await run(["--db", db, "import", EXAMPLES], {}, new Recorder());
    const out = join(dir.path, "exp");
    const e = await run(["--db", db, "export", out, "line1"]);
    expect(e.code).toBe(0);
    const text = await Bun.file(join(out, "connections.csv")).text();
    expect(text.split("\n").filter(Boolean)).toHaveLength(2);
    expect((await run(["--db", db, "export", join(dir.path, "x"), "ghost"])).code).toBe(66);
    expect((await run(["frobnicate"])).code).toBe(64);
    expect((await run(["conn", "show"])).code).toBe(64);
    expect((await run(["import", "--bogus", "x"])).code).toBe(64);
    expect((await run([])).code).toBe(64);
    for (const argv of [
      ["--help"],
      ["conn", "--help"],
      ["conn", "add", "--help"],
      ["import", "--help"],
      ["db", "init", "--help"],
    ]) {
      const r = await run(argv);
      expect(r.code).toBe(0);
      expect(r.out).toContain("Usage: nodi-edge");
    }
  });

  test("a database of a newer schema exits 78", async () => {
    const db = newDb();
    openStore(db).close();
    const s = openStore(db);
    s.db.run("INSERT INTO schema_version VALUES (999, 0, 'future')");
    s.close();
    const r = await run(["--db", db, "conn", "list"]);
    expect(r.code).toBe(78);
    expect(r.err).toContain("newer than this Nodi Edge understands");
  });
});

describe("nodi-edge with the real Redis TagBus", () => {
  test("import announces on Redis; a later change reloads the app", async () => {
    const db = newDb();
    const prefix = uniquePrefix("cli");
    const env = { NE_DB: db, NE_REDIS_URL: redis.url, NE_REDIS_PREFIX: prefix };
    const r = await run(["--json", "import", EXAMPLES], env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, notified: true, published: 3 });
    expect((await run(["conn", "add", "--update", "line1", "port=15099"], env)).code).toBe(0);
    const bus = await createRedisTagBus({ url: redis.url, prefix, producer: "test" });
    try {
      const added = await bus.get("/system/supervisor/conn_added");
      expect(added).toMatchObject({ value: "press1", producer: "cli" });
      const reload = await bus.get("/system/line1/config_reload");
      expect(typeof reload?.value).toBe("number");
    } finally {
      await bus.close();
    }
  });

  test("Redis unreachable: a first import commits, exits 0 with notified=false and a note, not a failure", async () => {
    const db = newDb();
    const env = { NE_DB: db, NE_REDIS_URL: `redis://127.0.0.1:${await freePort()}` };
    const r = await run(["--json", "import", EXAMPLES], env);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out);
    expect(out).toMatchObject({ ok: true, notified: false });
    expect(out.warning).toBeUndefined();
    // nothing runs this configuration yet: nothing is wrong, the supervisor reads it at start
    expect(r.err).not.toContain("NOT notified");
    expect(r.err).not.toContain("warning");
    expect(r.err).toStartWith(
      "note: saved. No app runs this configuration yet, so none needed telling;",
    );
    expect(r.err).toContain("The supervisor starts the apps from the database when it starts");
    expect(out.note).toBe(r.err.trim());
    const s = openStore(db);
    expect(s.listConnections()).toHaveLength(3);
    s.close();

    // a change to a configuration that apps run: a supervisor should have heard it, a warning
    const change = await run(["conn", "add", "--update", "line1", "port=15099"], env);
    expect(change.code).toBe(0);
    expect(change.err).toContain(
      "warning: the database was updated, but the running apps were NOT notified",
    );
    // an addition beside connections that run is a warning too (their supervisor is cut off)
    const add = await run(
      ["conn", "add", "press2", "protocol=modbus-tcp", "host=127.0.0.1", "port=15020"],
      env,
    );
    expect(add.code).toBe(0);
    expect(add.err).toContain("the running apps were NOT notified");
  }, 30_000);
});

test("acceptance: bun run src/cli/main.ts import examples/demo, then conn list --json", async () => {
  const db = newDb();
  const env = {
    ...process.env,
    NE_DB: db,
    NE_REDIS_URL: redis.url,
    NE_REDIS_PREFIX: uniquePrefix("acc"),
  };
  const cli = (args: string[]) =>
    Bun.spawn([process.execPath, "run", "src/cli/main.ts", ...args], {
      cwd: ROOT,
      env,
      stdout: "pipe",
      stderr: "pipe",
    });
  const imp = cli(["import", "examples/demo"]);
  expect(await imp.exited).toBe(0);
  const list = cli(["conn", "list", "--json"]);
  const out = await new Response(list.stdout).text();
  expect(await list.exited).toBe(0);
  expect((JSON.parse(out) as { conn_id: string }[]).map((c) => c.conn_id)).toEqual([
    "line1",
    "meter1",
    "press1",
  ]);
}, 60_000);
