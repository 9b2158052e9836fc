import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createNotifier, sockaddrUn } from "../../src/intf/sd-notify.ts";
import { tempDir } from "../support/tmp.ts";

const dir = tempDir("ne-notify-");
afterAll(() => dir.cleanup());

/** A real AF_UNIX datagram listener (python3) that prints each datagram as a JSON line. */
async function listener(address: string) {
  const script = `
import socket, sys, json
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
a = sys.argv[1]
s.bind(("\\0" + a[1:]) if a.startswith("@") else a)
print("READY", flush=True)
while True:
    d = s.recv(4096)
    print(json.dumps(d.decode()), flush=True)
`;
  const proc = Bun.spawn(["python3", "-c", script, address], { stdout: "pipe", stderr: "inherit" });
  const reader = proc.stdout.getReader();
  const lines: string[] = [];
  let buf = "";
  const pump = (async () => {
    for (;;) {
      const r = await reader.read();
      if (r.done) return;
      buf += new TextDecoder().decode(r.value);
      let i = buf.indexOf("\n");
      while (i >= 0) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
        i = buf.indexOf("\n");
      }
    }
  })();
  const until = async (pred: () => boolean) => {
    const end = Date.now() + 15_000;
    while (!pred() && Date.now() < end) await Bun.sleep(10);
    if (!pred()) throw new Error(`listener saw only ${JSON.stringify(lines)}`);
  };
  await until(() => lines.includes("READY"));
  return {
    lines,
    until,
    async stop() {
      proc.kill();
      await proc.exited;
      await pump.catch(() => {});
    },
  };
}

describe("sd_notify over a real AF_UNIX datagram socket", () => {
  test("path socket receives READY/STATUS", async () => {
    const path = join(dir.path, "notify.sock");
    const l = await listener(path);
    try {
      const n = await createNotifier({ NOTIFY_SOCKET: path, WATCHDOG_USEC: "2000000" });
      expect(n.enabled).toBe(true);
      expect(n.watchdogMs).toBe(2000);
      expect(n.notify("READY=1\nSTATUS=EXECUTE")).toBe(true);
      expect(n.notify("WATCHDOG=1")).toBe(true);
      await l.until(() => l.lines.length >= 3);
      expect(l.lines.slice(1).map((x) => JSON.parse(x))).toEqual([
        "READY=1\nSTATUS=EXECUTE",
        "WATCHDOG=1",
      ]);
    } finally {
      await l.stop();
    }
  });

  test("abstract socket (@name)", async () => {
    const name = `@ne-notify-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const l = await listener(name);
    try {
      const n = await createNotifier({ NOTIFY_SOCKET: name });
      expect(n.watchdogMs).toBeUndefined();
      expect(n.notify("STOPPING=1")).toBe(true);
      await l.until(() => l.lines.length >= 2);
      expect(JSON.parse(l.lines[1]!)).toBe("STOPPING=1");
    } finally {
      await l.stop();
    }
  });

  test("disabled without NOTIFY_SOCKET; send to a missing socket fails softly", async () => {
    const off = await createNotifier({});
    expect(off.enabled).toBe(false);
    expect(off.notify("READY=1")).toBe(false);
    const gone = await createNotifier({ NOTIFY_SOCKET: join(dir.path, "nobody.sock") });
    expect(gone.notify("READY=1")).toBe(false);
  });

  test("WATCHDOG_PID for another process disables the watchdog", async () => {
    const n = await createNotifier({ WATCHDOG_USEC: "1000000", WATCHDOG_PID: "1" });
    expect(n.watchdogMs).toBeUndefined();
  });

  test("sockaddr_un encoding", () => {
    const a = sockaddrUn("/run/x");
    expect(a.len).toBe(2 + 6 + 1);
    expect(Array.from(a.addr.slice(0, 9))).toEqual([1, 0, 47, 114, 117, 110, 47, 120, 0]);
    const b = sockaddrUn("@abc");
    expect(b.len).toBe(2 + 4);
    expect(Array.from(b.addr.slice(0, 6))).toEqual([1, 0, 0, 97, 98, 99]);
  });
});
