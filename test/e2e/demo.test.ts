import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

// `npm run demo` non-interactively: everything comes up (meter1 on RTU over a socat pty
// pair), values are good, and nothing is left running afterwards — after `--seconds` and
// after Ctrl-C (SIGINT).

const DEMO = join(import.meta.dir, "../../scripts/demo.ts");
const hasSocat = Bun.which("socat") !== null;

/** Live processes of a demo run: those with its temp dir in their environment or command line, or `pid`. */
function survivors(dir: string, pid: number): { pid: string; comm: string }[] {
  return readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        if (/^State:\s+Z/m.test(readFileSync(`/proc/${n}/status`, "utf8"))) return false;
        return (
          Number(n) === pid ||
          readFileSync(`/proc/${n}/environ`, "utf8").includes(`${dir}/`) ||
          readFileSync(`/proc/${n}/cmdline`, "utf8").includes(dir)
        );
      } catch {
        return false;
      }
    })
    .map((n) => {
      let comm = "?";
      try {
        comm = readFileSync(`/proc/${n}/comm`, "utf8").trim();
      } catch {}
      return { pid: n, comm };
    });
}

/** socat processes whose command line names `dir` (the pty links live there). */
function socats(dir: string): string[] {
  return readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        return (
          readFileSync(`/proc/${n}/comm`, "utf8").trim() === "socat" &&
          !/^State:\s+Z/m.test(readFileSync(`/proc/${n}/status`, "utf8")) &&
          readFileSync(`/proc/${n}/cmdline`, "utf8").includes(dir)
        );
      } catch {
        return false;
      }
    });
}

const tempDirOf = (out: string) => /logs in (\S+)\/supervisor\.log/.exec(out)?.[1];
const supervisorPidOf = (out: string) =>
  Number(/ne-supervisor started \(pid (\d+)\)/.exec(out)?.[1]);

test("the demo shows live good values, meter1 over a serial pty, and leaves nothing running", async () => {
  const p = Bun.spawn([process.execPath, DEMO, "--seconds", "10", "--no-opcua"], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, NE_REDIS_URL: "" },
  });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  const msg = `${out}\n${err}`;
  expect(code, msg).toBe(0);
  expect(out, msg).toMatch(
    /\nline1 — [^\n]*\n {2}from Modbus TCP 127\.0\.0\.1:\d+, unit 1; app state EXECUTE/,
  );
  if (hasSocat) {
    expect(out, msg).toContain("simulated Modbus RTU device on a serial line (a socat pty pair)");
    expect(out, msg).toMatch(
      /\nmeter1 — [^\n]*\n {2}from Modbus RTU on serial line \/\S+\/tty-meter1 \(19200 baud 8N2\), unit 7; app state EXECUTE/,
    );
  } else {
    expect(out, msg).toContain("socat is not installed");
    expect(out, msg).toMatch(
      /\nmeter1 — [^\n]*\n {2}from Modbus RTU over TCP [^\n]*app state EXECUTE/,
    );
  }
  expect(out, msg).toMatch(/speed_actual\s+\d+ rpm\s+good/);
  expect(out, msg).toMatch(/voltage_l1\s+[\d.]+ V\s+good/);
  expect(out, msg).toMatch(/energy_total\s+[\d.]+ kWh\s+good/);
  expect(out, msg).toContain("tag watch '/meter1/*'");
  // the northbound: a private broker, plain MQTT and Sparkplug messages arrive there
  if (Bun.which("mosquitto") || (await Bun.file("/usr/sbin/mosquitto").exists())) {
    expect(out, msg).toContain("plain MQTT (northbound demo-mqtt), status online");
    expect(out, msg).toMatch(/nodi-edge\/demo\/line1\/…\s+[1-9]\d* msgs/);
    expect(out, msg).toMatch(
      /spBv1\.0\/demo\/DDATA\/gw\/line1\s+[1-9]\d* msgs\s+[\d.]+\/s {2}last seq \d+/,
    );
  }
  expect(out).toContain("nothing left running");
  const dir = tempDirOf(out);
  expect(dir, msg).toBeDefined();
  // no process of this demo survives (socat included): none has its temp dir in its
  // environment or command line
  expect(survivors(dir as string, supervisorPidOf(out))).toEqual([]);
  expect(socats(dir as string)).toEqual([]);
}, 120_000);

test("Ctrl-C (SIGINT) stops the demo and everything it started, socat included", async () => {
  const p = Bun.spawn([process.execPath, DEMO, "--no-opcua", "--only", "meter1"], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, NE_REDIS_URL: "" },
  });
  // a failed expectation must not leave the demo (and its Redis, broker, apps) running
  try {
    const errText = new Response(p.stderr).text();
    const reader = p.stdout.getReader();
    const decoder = new TextDecoder();
    let out = "";
    let sawSocat = false;
    // read until the demo runs, then check socat is up and press "Ctrl-C"
    while (!out.includes("[demo] running")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += decoder.decode(value);
    }
    if (!out.includes("[demo] running"))
      throw new Error(`the demo did not run:\n${out}\n${await errText}`);
    const dir = tempDirOf(out);
    expect(dir, out).toBeDefined();
    if (hasSocat) sawSocat = socats(dir as string).length === 1;
    // wait (poll) until the supervisor has started meter1's app, so Ctrl-C stops a full stack
    const appUp = () =>
      survivors(dir as string, 0).some(({ pid }) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--conn-id=meter1");
        } catch {
          return false;
        }
      });
    // one look decides (a second look could miss a /proc file read while the app is spawned)
    let up = appUp();
    for (let end = Date.now() + 60_000; !up && Date.now() < end; up = appUp()) await Bun.sleep(100);
    expect(up, out).toBe(true);
    p.kill("SIGINT");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out += decoder.decode(value);
    }
    const code = await p.exited;
    const msg = `${out}\n${await errText}`;
    expect(code, msg).toBe(0);
    if (hasSocat) expect(sawSocat, msg).toBe(true);
    expect(out, msg).toContain("nothing left running");
    expect(survivors(dir as string, supervisorPidOf(out))).toEqual([]);
    expect(socats(dir as string)).toEqual([]);
  } finally {
    if (p.exitCode === null) {
      p.kill("SIGINT");
      await Promise.race([p.exited, Bun.sleep(15_000)]);
    }
  }
}, 120_000);
