import { errorPolicy, type NodiError, toNodiError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import { parseTagPath } from "../core/paths.ts";
import { REASON } from "../core/quality.ts";
import type { Driver } from "../drivers/driver.ts";
import type { Tag } from "../store/schema.ts";
import type { WriteRequest, WriteResult } from "../tagbus/tagbus.ts";
import type { IntfCounters } from "./health.ts";
import type { LinkQueue } from "./link-queue.ts";

/** What {@link handleWrite} reads from the app at the time of each request. */
export interface WriteContext {
  appId: string;
  log: Logger;
  counters: IntfCounters;
  queue: LinkQueue;
  driver: () => Driver;
  /** The enabled tag named `name`, or undefined. */
  tag: (name: string) => Tag | undefined;
  /** A hot reload in progress (a write waits for it), or undefined. */
  reloading: () => Promise<void> | undefined;
  /** The app state name and whether the link is up (writes need EXECUTE and a link). */
  linkState: () => { state: string; up: boolean };
  recordError: (err: NodiError, where: string) => void;
  onLinkLost: (err: NodiError) => void;
}

/**
 * Serves one write request addressed to this app (docs/intf.md "Writes"): checks it, sends
 * it through the link queue ahead of waiting reads, logs and counts the outcome.
 * @returns `{ok: true}`, or `{ok: false, reason}` with `not_found`, `read_only`,
 *   `disconnected`, `timeout` or the driver error's reason. Never throws.
 */
export async function handleWrite(ctx: WriteContext, req: WriteRequest): Promise<WriteResult> {
  const result = await doWrite(ctx, req);
  if (result.ok) ctx.counters.writes++;
  else ctx.counters.writeErrors++;
  ctx.log.info(
    {
      path: req.path,
      origin: req.origin,
      ok: result.ok,
      ...(result.ok ? {} : { reason: result.reason }),
    },
    "write",
  );
  return result;
}

async function doWrite(ctx: WriteContext, req: WriteRequest): Promise<WriteResult> {
  const p = parseTagPath(req.path);
  if (p?.kind !== "data" || p.connId !== ctx.appId) {
    return { ok: false, reason: "not_found", message: `no tag ${req.path}` };
  }
  const reloading = ctx.reloading();
  if (reloading) await reloading;
  const tag = ctx.tag(p.tagName);
  if (!tag) return { ok: false, reason: "not_found", message: `no tag ${req.path}` };
  if (tag.access !== "read-write") {
    return { ok: false, reason: "read_only", message: `${req.path} is read-only` };
  }
  const link = ctx.linkState();
  if (link.state !== "EXECUTE" || !link.up) {
    return { ok: false, reason: REASON.disconnected, message: `link is ${link.state}` };
  }
  if (Date.now() > req.deadline) return { ok: false, reason: "timeout" };
  try {
    const driver = ctx.driver();
    await ctx.queue.run("write", `write:${tag.tag_name}`, () => driver.write(tag, req.value));
    return { ok: true };
  } catch (e) {
    const err = toNodiError(e, "communication");
    ctx.recordError(err, `write:${tag.tag_name}`);
    if (errorPolicy[err.kind].linkLost) ctx.onLinkLost(err);
    return { ok: false, reason: err.reason, message: err.message };
  }
}
