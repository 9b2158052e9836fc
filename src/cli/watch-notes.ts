import { redactUrl } from "../core/redact-url.ts";
import { BusProbe, type ProbedBus } from "../tagbus/bus-probe.ts";
import type { GapEvent } from "../tagbus/tagbus.ts";

/** How often `tag watch` looks at the bus's connection state, ms. */
export const LINK_CHECK_MS = 200;
/** Path read by the watch's {@link BusProbe} (nobody publishes it). */
const PROBE_PATH = "/system/cli/bus_probe";

/** What each gap reason of the TagBus (docs/tagbus.md "Gaps") means, for people. */
const GAP_CAUSES: Record<string, string> = {
  outbox_overflow: "its outbox overflowed while Redis was unreachable",
  trimmed: "they were trimmed from its stream before they were read",
  redis_data_lost: "Redis lost data (restarted without its append-only file, or flushed)",
};

/**
 * A gap event as one line for people: `# gap: values may have been missed (12 updates of
 * mtc-01): outbox_overflow, its outbox overflowed while Redis was unreachable; current values
 * follow`. The resync line the TagBus sends after every gap comes next.
 */
export function describeGap(e: GapEvent): string {
  const count = e.dropped === undefined ? "" : `${e.dropped} update${e.dropped === 1 ? "" : "s"}`;
  const who = e.producer ? (count ? `${count} of ${e.producer}` : e.producer) : count;
  const cause = GAP_CAUSES[e.reason];
  return `# gap: values may have been missed${who ? ` (${who})` : ""}: ${e.reason}${cause ? `, ${cause}` : ""}; current values follow`;
}

/** A change of the watch's link to the tag bus, as `tag watch --json` prints it. */
export interface LinkEvent {
  kind: "connection";
  /** Whether the bus is reachable again (`true`: restored) or not (`false`: lost). */
  connected: boolean;
  /** The bus's URL (`NE_REDIS_URL`), its password hidden. */
  url: string;
  /** When the change was seen, ms since the epoch. */
  ts: number;
  /** With `connected: true`: how long the bus was unreachable, ms. */
  downMs?: number;
}

/** A link event as one line for people (`tag watch` without `--json`). */
export function describeLink(e: LinkEvent): string {
  const at = new Date(e.ts).toISOString();
  if (!e.connected) {
    return `# ${at} connection to the tag bus (${e.url}) lost; still watching, reconnecting`;
  }
  const after = e.downMs === undefined ? "" : ` after ${(e.downMs / 1000).toFixed(1)} s`;
  return `# ${at} connection to the tag bus (${e.url}) restored${after}; updates published meanwhile follow, and a "# gap" line says if any were missed`;
}

/** The handle of {@link followLink}. */
export interface LinkFollower {
  /** Stops the checks. */
  stop(): void;
  /**
   * The subscription delivered an event: the bus is reachable, whatever the bus's own client
   * says. While the link is shown lost this shows it restored at once (the subscription reads on
   * a connection of its own, which may come back before the bus's client does).
   */
  seen(): void;
}

/**
 * Calls `onChange` each time the watch's link to the tag bus changes, starting from
 * connected: lost when `bus.stats().connected` turns false or, when `bus.get` is given, a probe
 * read stays unanswered for `BUS_PROBE_TIMEOUT_MS` ({@link BusProbe}) (checked every `everyMs`,
 * {@link LINK_CHECK_MS} by default); restored when it turns true again or when the
 * subscription delivers an event ({@link LinkFollower.seen}), whichever comes first. After a
 * restore seen through a delivery, a `stats()` still false is not shown as lost again until it
 * has been true once (no flapping while the bus's client is still reconnecting). The
 * subscription itself reconnects and resumes on its own; this only makes the outage visible.
 */
export function followLink(
  bus: { stats(): { connected: boolean }; get?(path: string): Promise<unknown> },
  url: string,
  onChange: (e: LinkEvent) => void,
  everyMs = LINK_CHECK_MS,
): LinkFollower {
  let shown = true;
  const probe = bus.get ? new BusProbe(bus as ProbedBus, PROBE_PATH) : undefined;
  const connected = () => {
    if (!probe) return bus.stats().connected;
    probe.step();
    return probe.up;
  };
  /** Restored through a delivery while the bus's client was still down. */
  let heldUp = false;
  let since = Date.now();
  const at = redactUrl(url);
  const show = (connected: boolean) => {
    shown = connected;
    const ts = Date.now();
    onChange(
      connected
        ? { kind: "connection", connected, url: at, ts, downMs: ts - since }
        : { kind: "connection", connected, url: at, ts },
    );
    since = ts;
  };
  const t = setInterval(() => {
    const now = connected();
    if (now) heldUp = false;
    if (now === shown || (!now && heldUp)) return;
    show(now);
  }, everyMs);
  return {
    stop: () => clearInterval(t),
    seen: () => {
      if (shown) return;
      heldUp = !connected();
      show(true);
    },
  };
}
