import { NodiError, toNodiError } from "../core/errors.ts";
import { EXIT } from "../core/exit-codes.ts";
import type { Logger } from "../core/log.ts";
import { REASON } from "../core/quality.ts";
import type { Driver } from "../drivers/driver.ts";
import { type ChangeKind, classifyChange } from "../store/changes.ts";
import type { ConnectionConfig } from "../store/schema.ts";
import type { BlockSet } from "./block-set.ts";
import { configProblem, enabledBlocks, enabledTags } from "./config-view.ts";
import type { AppFsm } from "./fsm.ts";
import type { IntfCounters } from "./health.ts";

/** What to do with a re-read configuration (docs/intf.md "Reload"). */
export type ReloadPlan =
  /** Nothing a running app would notice. */
  | { kind: "none" }
  /** The new configuration is invalid: keep the old one, report `err`. */
  | { kind: "refuse"; err: NodiError }
  /** End the app with `code` (80 removed/disabled, 75 link settings changed). */
  | { kind: "exit"; code: number; why: string }
  /** Blocks or tags changed: hot reload to `next`, keeping the link. */
  | { kind: "hot"; next: ConnectionConfig };

/**
 * Compares the running configuration with the one just re-read (`undefined` = the
 * connection is gone) and decides (`store/changes.ts classifyChange`); `change` is the
 * classified kind of change, for the log. Pure.
 */
export function planReload(
  current: ConnectionConfig,
  next: ConnectionConfig | undefined,
): ReloadPlan & { change: ChangeKind } {
  const change = classifyChange(current, next).kind;
  if (change === "removed" || !next) {
    const why = next ? "connection disabled" : "connection removed";
    return { change, kind: "exit", code: EXIT.REMOVED, why };
  }
  if (change === "unchanged") return { change, kind: "none" };
  const problem = configProblem(next);
  if (problem) return { change, kind: "refuse", err: new NodiError("configuration", problem) };
  if (change === "connection_changed") {
    return { change, kind: "exit", code: EXIT.RESTART, why: "connection settings changed" };
  }
  return { change, kind: "hot", next };
}

/** What {@link hotReload} changes. */
export interface HotReloadContext {
  log: Logger;
  fsm: AppFsm;
  blocks: BlockSet;
  driver: Driver;
  counters: IntfCounters;
  linkUp: () => boolean;
  /** Makes `cfg` the running configuration (blocks, tags, link settings). */
  adopt: (cfg: ConnectionConfig) => void;
  /** Counts and reports a refused configuration. */
  refuse: (err: NodiError) => void;
}

/**
 * Applies a blocks/tags change: EXECUTE (or RECOVER/CONNECT) → CONFIGURE → CONNECT; the timers
 * are stopped, `driver.configure` gets the new blocks (no `close`/`connect`: the device sees
 * no reconnect), tags that disappeared are published `bad`/`removed`. When the driver refuses
 * the new configuration, the old one is configured again and the refusal reported.
 */
export async function hotReload(
  ctx: HotReloadContext,
  current: ConnectionConfig,
  next: ConnectionConfig,
): Promise<void> {
  ctx.fsm.go("CONFIGURE", "config_reload");
  await ctx.blocks.stop(ctx.driver);
  const before = ctx.blocks.tagNames();
  try {
    await ctx.driver.configure(enabledBlocks(next), enabledTags(next), next.devices ?? []);
    ctx.adopt(next);
    ctx.counters.reloads++;
    const gone = before.filter((n) => !ctx.blocks.tag(n));
    if (gone.length > 0) {
      await ctx.blocks.publishBad(gone, REASON.removed);
      for (const n of gone) ctx.blocks.forget(n);
    }
    ctx.log.info(
      { blocks: ctx.blocks.size, tags: ctx.blocks.tagNames().length, removedTags: gone.length },
      "configuration reloaded",
    );
  } catch (e) {
    ctx.refuse(toNodiError(e, "configuration"));
    await ctx.driver.configure(enabledBlocks(current), enabledTags(current), current.devices ?? []);
  }
  ctx.fsm.go("CONNECT", ctx.linkUp() ? "reloaded, link kept" : "reloaded");
}
