import { expect, test } from "bun:test";
import { followLink, type LinkEvent } from "../../src/cli/watch-notes.ts";

/**
 * `tag watch`'s link line when the subscription's own connection comes back before the bus's
 * client does (seen in CI: a gap and values were delivered, the bus's client still down, and
 * no "restored" line for 10 s).
 */
test("a delivery while the link is shown lost shows it restored at once, and does not flap back", async () => {
  const bus = { connected: true, stats: () => ({ connected: bus.connected }) };
  const events: LinkEvent[] = [];
  const link = followLink(bus, "redis://127.0.0.1:1", (e) => events.push(e), 5);
  try {
    bus.connected = false;
    while (events.length < 1) await Bun.sleep(5);
    expect(events[0]).toMatchObject({ connected: false });
    link.seen(); // the subscription delivered: the bus is reachable, its client not yet
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({ connected: true });
    await Bun.sleep(30); // stats() still false: no second "lost"
    expect(events).toHaveLength(2);
    bus.connected = true;
    await Bun.sleep(30);
    bus.connected = false; // a real second outage is shown
    while (events.length < 3) await Bun.sleep(5);
    expect(events[2]).toMatchObject({ connected: false });
    link.seen();
    link.seen();
    expect(events.map((e) => e.connected)).toEqual([false, true, false, true]);
  } finally {
    link.stop();
  }
});
