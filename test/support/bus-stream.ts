/** One committed sample as a producer stream holds it: its seq and value. */
export interface CommittedSample {
  seq: number;
  value: unknown;
}

/**
 * Every sample committed in the producer stream `{prefix}s:{producer}` (docs/tagbus.md "Keys":
 * each entry `s` first seq, `n` count, `d` JSON `[[path, value, …], …]`), read with XRANGE
 * over a raw RESP2 client (e.g. `@redis/client` with `RESP: 2`), in stream order. Gap markers (field `g`) are returned as
 * `{ seq: NaN, value: "gap:" + g }` so a caller sees them.
 */
export async function committedSamples(
  raw: { sendCommand(args: string[]): Promise<unknown> },
  prefix: string,
  producer: string,
): Promise<CommittedSample[]> {
  const entries = (await raw.sendCommand(["XRANGE", `${prefix}s:${producer}`, "-", "+"])) as [
    string,
    string[],
  ][];
  const out: CommittedSample[] = [];
  for (const [, flat] of entries) {
    const f = new Map<string, string>();
    for (let i = 0; i + 1 < flat.length; i += 2) f.set(flat[i]!, flat[i + 1]!);
    if (f.has("g")) {
      out.push({ seq: Number.NaN, value: `gap:${f.get("g")}` });
      continue;
    }
    const s = Number(f.get("s"));
    const d = JSON.parse(f.get("d") ?? "[]") as unknown[][];
    d.forEach((e, i) => {
      out.push({ seq: s + i, value: e[1] });
    });
  }
  return out;
}
