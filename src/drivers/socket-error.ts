/**
 * Plain words for the errno codes a TCP connect fails with, as an automation engineer reads
 * them in `status` and the journal (Bun's own message for a refused connection is only
 * "Failed to connect"). Codes: POSIX / Linux errno names as Node and Bun report them in
 * `err.code`; `ENOTFOUND` / `EAI_AGAIN` are getaddrinfo's.
 */
const WORDS: Record<string, string> = {
  ECONNREFUSED: "connection refused: nothing listens on that port, or a firewall rejects it",
  ECONNRESET: "connection reset by the peer",
  EHOSTUNREACH: "host unreachable: no route to it (wrong address, cable, VLAN or gateway)",
  ENETUNREACH: "network unreachable: this box has no route to that network",
  ETIMEDOUT: "timed out: no answer from the host (switched off, or a firewall drops packets)",
  ENOTFOUND: "host name not found (DNS)",
  EAI_AGAIN: "host name lookup failed for now (DNS server not reachable)",
  EADDRNOTAVAIL: "address not available on this box",
};

/**
 * What a socket error means, with its code: e.g. `connection refused: nothing listens on that
 * port, or a firewall rejects it (ECONNREFUSED)`. An error without a known code gives its own
 * message, plus the code when it has one.
 * @param err the error of `Bun.connect` / `node:net` (fields `code`, `message`).
 */
export function socketErrorText(err: Error & { code?: unknown }): string {
  const code = typeof err.code === "string" ? err.code : undefined;
  const words = code ? WORDS[code] : undefined;
  if (words) return `${words} (${code})`;
  return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
}
