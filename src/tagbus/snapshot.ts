import type { TagValue } from "../core/tag-value.ts";
import { decodeCurrent } from "./codec.ts";
import { type BusClient, runScript } from "./connection.ts";
import { type BusKeys, rootMayMatch } from "./keys.ts";
import { SNAPSHOT_LUA } from "./scripts.ts";

/** Position of a subscriber in one producer's stream. */
export interface Cursor {
  /** Last stream id handled (XREAD reads after it). */
  id: string;
  /** Last seq handled; `undefined` until the first entry is seen. */
  lastSeq: number | undefined;
}

/** A consistent cut of the bus for a set of patterns. */
export interface Snapshot {
  /** Last id of the registration stream. */
  regsId: string;
  /** Producers with a root matching the patterns → position at the cut. */
  cursors: Map<string, Cursor & { exists: boolean }>;
  /** Current values of matching tags, sorted by path. */
  values: TagValue[];
  /** Every registered (producer, root) with the id and first seq of its first entry. */
  registrations: Registration[];
}

/** A (producer, root) pair and the first entry of that producer under that root. */
export interface Registration {
  producer: string;
  root: string;
  /** Stream id of the first entry. */
  id: string;
  /** First seq of that entry (`undefined` when not recorded). */
  seq?: number;
}

/** Registrations whose root may match one of `patterns`. */
export function matchingRegistrations(
  regs: Snapshot["registrations"],
  patterns: string[],
): Snapshot["registrations"] {
  return regs.filter((r) => patterns.some((p) => rootMayMatch(p, r.root)));
}

type Raw = [string, string[], string[], string[], string[][], number[]];

/**
 * Takes a snapshot with the SNAPSHOT script. Which producers and roots to include is only
 * known from the registrations, read in the same script; so the call repeats (at most a few
 * times) until the registrations it read agree with what it included.
 * `withValues` false skips the current values (used to verify cursors).
 */
export async function takeSnapshot(
  client: BusClient,
  keys: BusKeys,
  patterns: string[],
  filter: (path: string) => boolean,
  withValues: boolean,
  guessProducers: string[] = [],
): Promise<Snapshot> {
  let producers = [...new Set(guessProducers)].sort();
  let roots: string[] = [];
  for (let attempt = 0; ; attempt++) {
    const curRoots = withValues ? roots : [];
    const raw = await runScript<Raw>(
      client,
      SNAPSHOT_LUA,
      [keys.reg, keys.regs, keys.seq, ...producers.map(keys.stream), ...curRoots.map(keys.cur)],
      [String(producers.length), String(curRoots.length), ...producers],
    );
    const registrations: Snapshot["registrations"] = [];
    for (let i = 0; i + 1 < raw[1].length; i += 2) {
      const f = raw[1][i]!;
      const sp = f.indexOf(" ");
      const [id, seq] = raw[1][i + 1]!.split(" ");
      const reg: Registration = { producer: f.slice(0, sp), root: f.slice(sp + 1), id: id! };
      if (seq) reg.seq = Number(seq);
      registrations.push(reg);
    }
    const match = matchingRegistrations(registrations, patterns);
    const wantProducers = [...new Set([...guessProducers, ...match.map((r) => r.producer)])].sort();
    const wantRoots = [...new Set(match.map((r) => r.root))].sort();
    const same =
      wantProducers.join("\n") === producers.join("\n") &&
      (!withValues || wantRoots.join("\n") === roots.join("\n"));
    if (!same && attempt < 5) {
      producers = wantProducers;
      roots = wantRoots;
      continue;
    }
    const cursors = new Map<string, Cursor & { exists: boolean }>();
    producers.forEach((p, i) => {
      const seq = Number(raw[3][i]);
      cursors.set(p, { id: raw[2][i]!, lastSeq: seq, exists: raw[5][i] === 1 });
    });
    const values: TagValue[] = [];
    raw[4].forEach((flat) => {
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const path = flat[i]!;
        if (!filter(path)) continue;
        const v = decodeCurrent(path, flat[i + 1]!);
        if (v) values.push(v);
      }
    });
    values.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { regsId: raw[0], cursors, values, registrations };
  }
}
