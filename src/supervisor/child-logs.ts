/**
 * Forwards a child's output line by line, each line prefixed by its conn_id, so that the
 * logs of every app run by the process manager can be told apart in one stream (under
 * systemd, journald does this per unit).
 */

/** Receives one complete line (without its newline) of one app's stdout or stderr. */
export type LogSink = (connId: string, stream: "stdout" | "stderr", line: string) => void;

/** The default sink: `{conn_id}| {line}` on the supervisor's own stdout / stderr. */
export const prefixedConsoleSink: LogSink = (connId, stream, line) => {
  (stream === "stdout" ? process.stdout : process.stderr).write(`${connId}| ${line}\n`);
};

/** A sink that drops everything (benchmarks, quiet demo). */
export const discardSink: LogSink = () => {};

/**
 * Reads `stream` to its end, calling `sink` once per line. A final line without a newline
 * is delivered too. Never throws (a broken pipe just ends the forwarding).
 */
export async function forwardLines(
  stream: ReadableStream<Uint8Array>,
  connId: string,
  kind: "stdout" | "stderr",
  sink: LogSink,
): Promise<void> {
  const decoder = new TextDecoder();
  let rest = "";
  try {
    for await (const chunk of stream) {
      rest += decoder.decode(chunk, { stream: true });
      let nl = rest.indexOf("\n");
      while (nl >= 0) {
        sink(connId, kind, rest.slice(0, nl));
        rest = rest.slice(nl + 1);
        nl = rest.indexOf("\n");
      }
    }
  } catch {
    // the pipe broke: the child is gone
  }
  if (rest.length > 0) sink(connId, kind, rest);
}
