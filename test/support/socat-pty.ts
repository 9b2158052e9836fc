import { type Subprocess, spawn } from "bun";

/**
 * A pseudo-terminal pair from `socat -d -d pty,raw,echo=0 pty,raw,echo=0`: bytes written to
 * one end come out of the other, like a null-modem serial cable. `stop()` kills socat.
 */
export interface PtyPair {
  a: string;
  b: string;
  stop(): Promise<void>;
}

/** Starts socat and waits (up to 10 s) until it reports both pty paths. */
export async function ptyPair(): Promise<PtyPair> {
  const proc: Subprocess<"ignore", "ignore", "pipe"> = spawn(
    ["socat", "-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"],
    { stdin: "ignore", stdout: "ignore", stderr: "pipe" },
  );
  const reader = proc.stderr.getReader();
  let text = "";
  const deadline = Date.now() + 10_000;
  while ((text.match(/PTY is \S+/g) ?? []).length < 2) {
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`socat did not report two ptys: ${text}`);
    }
    const { value, done } = await reader.read();
    if (done) throw new Error(`socat exited: ${text}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const [a, b] = [...text.matchAll(/PTY is (\S+)/g)].map((m) => m[1] as string);
  return {
    a: a as string,
    b: b as string,
    stop: async () => {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}
