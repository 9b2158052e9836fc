import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { EXIT } from "../../src/core/exit-codes.ts";
import { type ModbusSim, startModbusSim } from "../../src/sim/modbus/index.ts";
import { openStore } from "../../src/store/store.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir } from "../support/tmp.ts";
import { connRows, waitFor } from "./harness.ts";

/**
 * sd_notify from a `bun build --compile` executable (the packaged form): the bun:ffi path must
 * work there too. Builds `src/intf/main.ts` with the flags of build/build.ts, runs it against
 * the Modbus simulator and a real AF_UNIX datagram listener (python3).
 */
const redis = new RedisServer();
const dir = tempDir("ne-intf-bin-");
let sim: ModbusSim;

beforeAll(async () => {
  await redis.start();
  sim = await startModbusSim({ map: { holding_registers: { "0": [7] } }, port: 0 });
});
afterAll(async () => {
  await sim?.stop();
  await redis.shutdown();
  dir.cleanup();
});

test("compiled ne-intf sends READY, WATCHDOG, STATUS, STOPPING over NOTIFY_SOCKET", async () => {
  const bin = join(dir.path, "ne-intf");
  const root = join(import.meta.dir, "../..");
  const build = Bun.spawnSync(
    [
      process.execPath,
      "build",
      "--compile",
      "--minify-whitespace",
      "--minify-syntax",
      "--format=esm",
      "--external=proper-lockfile",
      "--no-compile-autoload-dotenv",
      "--no-compile-autoload-bunfig",
      join(root, "src/intf/main.ts"),
      `--outfile=${bin}`,
    ],
    { cwd: root, stdout: "pipe", stderr: "pipe" },
  );
  expect(build.exitCode, build.stderr.toString()).toBe(0);

  const db = join(dir.path, "sot.db");
  const store = openStore(db);
  store.apply({
    origin: "test",
    put: [
      connRows("plc-bin", {
        periodMs: 50,
        blocks: [{ block_id: "hr", count: 1 }],
        tags: [{ tag_name: "speed", block_id: "hr" }],
        connection: { port: sim.port },
      }),
    ],
  });
  store.close();

  const sock = join(dir.path, "notify.sock");
  const listener = Bun.spawn(
    [
      "python3",
      "-c",
      "import socket,sys,json\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint('UP',flush=True)\nwhile True: print(json.dumps(s.recv(4096).decode()),flush=True)",
      sock,
    ],
    { stdout: "pipe" },
  );
  let out = "";
  const reader = listener.stdout.getReader();
  void (async () => {
    for (;;) {
      const r = await reader.read();
      if (r.done) return;
      out += new TextDecoder().decode(r.value);
    }
  })();
  try {
    await waitFor(() => out.includes("UP"), "listener");
    const app = Bun.spawn([bin, "--conn-id=plc-bin"], {
      env: {
        ...process.env,
        NE_DB: db,
        NE_REDIS_URL: redis.url,
        NE_REDIS_PREFIX: "bin:",
        NOTIFY_SOCKET: sock,
        WATCHDOG_USEC: "400000",
      },
      stdout: "ignore",
    });
    await waitFor(() => out.includes("READY=1") && out.includes("WATCHDOG=1"), "READY, WATCHDOG");
    app.kill("SIGTERM");
    expect(await app.exited).toBe(EXIT.OK);
    await waitFor(() => out.includes("STOPPING=1"), "STOPPING");
    const msgs = out
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => JSON.parse(l) as string);
    expect(msgs.filter((m) => m.startsWith("READY=1")).length).toBe(1);
    expect(msgs).toContain("STATUS=EXECUTE: connected");
  } finally {
    listener.kill();
    await listener.exited;
  }
}, 120_000);
