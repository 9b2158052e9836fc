import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { NorthRig, until } from "./harness.ts";

// sd_notify of ne-north (as ne-intf, docs/north.md "The program"): READY=1 once configured,
// STATUS= per state, WATCHDOG=1 at half of WATCHDOG_USEC (also while it waits for another
// instance's lease), STOPPING=1 on SIGTERM. A real AF_UNIX datagram listener (python3).

const rig = new NorthRig();
let lines: string[] = [];
let listener: ReturnType<typeof Bun.spawn> | undefined;
const sock = () => join(rig.dir.path, "notify.sock");

beforeAll(async () => {
  await rig.start();
  rig.putNorth({
    north_id: "sd1",
    kind: "mqtt",
    broker_urls: rig.broker.url,
    gateway: "gw",
    tag_selection: "/syn/*",
  });
  const script = `
import socket, sys, json
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("READY", flush=True)
while True:
    print(json.dumps(s.recv(4096).decode()), flush=True)
`;
  listener = Bun.spawn(["python3", "-c", script, sock()], { stdout: "pipe", stderr: "inherit" });
  void (async () => {
    let buf = "";
    for await (const chunk of listener!.stdout as ReadableStream<Uint8Array>) {
      buf += new TextDecoder().decode(chunk);
      let i = buf.indexOf("\n");
      while (i >= 0) {
        const l = buf.slice(0, i);
        lines.push(l === "READY" ? l : (JSON.parse(l) as string));
        buf = buf.slice(i + 1);
        i = buf.indexOf("\n");
      }
    }
  })();
  await until("listener", () => lines.includes("READY"));
}, 30_000);

afterAll(async () => {
  listener?.kill();
  await rig.shutdown();
}, 30_000);

const env = () => ({ NOTIFY_SOCKET: sock(), WATCHDOG_USEC: "1000000" });
const count = (m: string) => lines.filter((l) => l.includes(m)).length;

describe("ne-north and systemd", () => {
  test("READY, STATUS, WATCHDOG every half period, STOPPING", async () => {
    lines = [];
    rig.startNorth("sd1", env());
    await until("READY=1", () => count("READY=1") === 1, 20_000);
    await until("EXECUTE status", () => lines.some((l) => l.startsWith("STATUS=EXECUTE")), 20_000);
    const w0 = count("WATCHDOG=1");
    await Bun.sleep(2600);
    expect(count("WATCHDOG=1") - w0).toBeGreaterThanOrEqual(4); // every 500 ms
    expect(await rig.kill("north-sd1", "SIGTERM")).toBe(0);
    expect(count("STOPPING=1")).toBe(1);
  }, 40_000);

  test("the watchdog is fed while waiting for another instance's lease", async () => {
    rig.startNorth("sd1"); // the holder, without a notify socket
    await until(
      "holder running",
      async () => (await rig.bus.get("/system/sd1/state"))?.value === "EXECUTE",
      20_000,
    );
    lines = [];
    const second = Bun.spawn([process.execPath, "src/north/main.ts", "--north-id=sd1"], {
      cwd: join(import.meta.dir, "../.."),
      env: { ...process.env, ...rig.env(env()) },
      stdout: "ignore",
      stderr: "ignore",
    });
    try {
      await until(
        "waiting for the lease",
        () => lines.some((l) => l.startsWith("STATUS=waiting for the lease")),
        20_000,
      );
      const w0 = count("WATCHDOG=1");
      await Bun.sleep(2600);
      expect(count("WATCHDOG=1") - w0).toBeGreaterThanOrEqual(2); // on each lease retry (1 s)
      expect(count("READY=1")).toBe(0);
    } finally {
      second.kill("SIGTERM");
      expect(await second.exited).toBe(0);
      await rig.kill("north-sd1");
    }
  }, 40_000);
});
