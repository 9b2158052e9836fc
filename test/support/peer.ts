import { type Subprocess, spawn } from "bun";

/**
 * Starts an external test peer (redis-server, the pymodbus server, mosquitto, …) and waits
 * until `ready()` says it serves. When the peer cannot start (a missing module, a port in use,
 * a bad option), this throws at once with the peer's own stderr instead of letting the test
 * time out without saying why.
 * @param argv     the command line; `argv[0]` is run as given (use absolute paths where the
 *   PATH's first match is not the one meant, e.g. `/usr/bin/python3`).
 * @param ready    polled every 20 ms until it resolves `true`.
 * @param opts.name      how the error names the peer (default `argv[0]`).
 * @param opts.timeoutMs how long to wait for `ready` (default 10,000 ms).
 * @throws Error naming the peer, its exit code and the tail of its stderr when it exits before
 *   it is ready; or, after the timeout, the stderr seen so far.
 */
export async function startPeer(
  argv: string[],
  ready: () => Promise<boolean>,
  opts: { name?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<Subprocess<"ignore", "ignore", "pipe">> {
  const name = opts.name ?? argv[0];
  let proc: Subprocess<"ignore", "ignore", "pipe">;
  try {
    proc = spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "pipe", cwd: opts.cwd });
  } catch (e) {
    throw new Error(`${name} could not be started (${argv.join(" ")}): ${(e as Error).message}`);
  }
  let stderr = "";
  const decoder = new TextDecoder();
  // Keep reading stderr for the whole life of the peer (a full pipe would block it); keep the
  // last 8 kB for the error message and pass it on to the test's stderr.
  void (async () => {
    for await (const chunk of proc.stderr) {
      const text = decoder.decode(chunk);
      stderr = (stderr + text).slice(-8192);
      process.stderr.write(text);
    }
  })().catch(() => {});
  let exited: number | null = null;
  void proc.exited.then((code) => {
    exited = code;
  });
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  while (Date.now() < deadline) {
    if (exited !== null) {
      await Bun.sleep(50); // let the last stderr chunk arrive
      throw new Error(
        `${name} exited with code ${exited} before it was ready (${argv.join(" ")}):\n${stderr.trim() || "(no stderr)"}`,
      );
    }
    if (await ready().catch(() => false)) return proc;
    await Bun.sleep(20);
  }
  proc.kill("SIGKILL");
  throw new Error(
    `${name} was not ready after ${opts.timeoutMs ?? 10_000} ms (${argv.join(" ")}):\n${stderr.trim() || "(no stderr)"}`,
  );
}

/** Resolves `true` once something accepts a TCP connection on 127.0.0.1:`port`. */
export async function tcpAccepts(port: number): Promise<boolean> {
  try {
    const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
    s.end();
    return true;
  } catch {
    return false;
  }
}
