import { expect, test } from "bun:test";
import { pendingReload } from "../../src/supervisor/pending-reload.ts";

const e = (id: number, ts: number, change: string) => ({
  id,
  ts,
  origin: "cli:import",
  conn_id: "m1",
  change,
});

test("a reload-worthy change after the app's start and the last announcement needs a reload", () => {
  const j = [e(1, 100, "added"), e(2, 500, "blocks_changed")];
  expect(pendingReload(j, 0, 200)?.id).toBe(2); // never announced
  expect(pendingReload(j, 400, 200)?.id).toBe(2); // announced before the change
  expect(pendingReload(j, 500, 200)).toBeUndefined(); // announced (published after the commit)
  expect(pendingReload(j, 0, 600)).toBeUndefined(); // the app started after it: already loaded
  expect(pendingReload([e(3, 900, "connection_changed")], 0, 0)?.change).toBe("connection_changed");
});

test("adds, removals and no-op edits never need a reload; the newest worthy entry counts", () => {
  expect(pendingReload([e(1, 900, "added"), e(2, 950, "unchanged")], 0, 0)).toBeUndefined();
  expect(pendingReload([], 0, 0)).toBeUndefined();
  const j = [e(5, 800, "blocks_changed"), e(4, 300, "blocks_changed"), e(6, 850, "removed")];
  expect(pendingReload(j, 700, 0)?.id).toBe(5);
});

test("a northbound's restart or reload change needs announcing; its additions and removals do not", () => {
  expect(pendingReload([e(1, 900, "north_reload")], 0, 0)?.change).toBe("north_reload");
  expect(pendingReload([e(1, 900, "north_restart")], 500, 100)?.change).toBe("north_restart");
  expect(
    pendingReload([e(1, 900, "north_added"), e(2, 950, "north_removed")], 0, 0),
  ).toBeUndefined();
  expect(pendingReload([e(1, 900, "north_updated_disabled")], 0, 0)).toBeUndefined();
});
