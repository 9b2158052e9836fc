import { errorPolicy, type NodiError, toNodiError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import { parseTagPath } from "../core/paths.ts";
import { REASON } from "../core/quality.ts";
import type { Driver } from "../drivers/driver.ts";
import type { AuditRecord } from "../store/audit.ts";
import type { Tag } from "../store/schema.ts";
import {
  OUTCOME_UNKNOWN,
  OUTCOME_UNKNOWN_ADVICE,
  type WriteRequest,
  type WriteResult,
} from "../tagbus/tagbus.ts";
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
  /** Reads the tag's block back as soon as the link answers (after an outcome-unknown write). */
  readBack: (tag: Tag) => void;
  /** The tag's last published value (`null`: bad; `undefined`: none yet), for the audit trail. */
  previous?: (tagName: string) => unknown;
  /** Records an answered write in the audit trail (never throws, never waits). */
  audit?: (r: AuditRecord) => void;
}

/**
 * Records one answered write in the audit trail: who (the request's identity), the value
 * asked, the tag's previous value, the result (`done`; `outcome_unknown`; `refused` with the
 * reason for every other failure: nothing was applied). No-op without `ctx.audit`.
 */
export function auditWrite(
  ctx: Pick<WriteContext, "audit" | "appId">,
  req: WriteRequest,
  result: WriteResult,
  previous: unknown,
): void {
  if (!ctx.audit) return;
  ctx.audit({
    kind: "write",
    identity: req.identity,
    action: "tag.write",
    target: req.path,
    value: req.value,
    ...(previous !== undefined ? { previous } : {}),
    result: result.ok ? "done" : result.reason === OUTCOME_UNKNOWN ? "outcome_unknown" : "refused",
    ...(result.ok ? {} : { reason: result.reason }),
    detail: result.ok || !result.message ? {} : { message: result.message },
    requestId: req.id,
  });
}

/**
 * Reasons of a write refused as the request's fault, before anything was sent: counted in
 * `writesRefused`, apart from the device and link failures of `writeErrors`.
 */
export const REFUSED_WRITE_REASONS: ReadonlySet<string> = new Set([
  "not_found",
  "read_only",
  "out_of_range",
]);

/**
 * Serves one write request addressed to this app (docs/intf.md "Writes"): checks it, sends
 * it through the link queue ahead of waiting reads, logs and counts the outcome. Answers by
 * the request's deadline at the latest, so the writer always learns whether anything was
 * sent.
 * @returns `{ok: true}`, or `{ok: false, reason}` with `not_found`, `read_only`,
 *   `disconnected`, `timeout` (nothing sent: the deadline passed before the link was free),
 *   `outcome_unknown` (sent without a reply in time: the device may have applied it; the
 *   tag's block is read back) or the driver error's reason. Never throws.
 */
export async function handleWrite(ctx: WriteContext, req: WriteRequest): Promise<WriteResult> {
  const p = parseTagPath(req.path);
  const previous = p?.kind === "data" ? ctx.previous?.(p.tagName) : undefined;
  const result = await doWrite(ctx, req);
  auditWrite(ctx, req, result, previous);
  if (result.ok) ctx.counters.writes++;
  else if (REFUSED_WRITE_REASONS.has(result.reason)) ctx.counters.writesRefused++;
  else ctx.counters.writeErrors++;
  ctx.log.info(
    {
      path: req.path,
      origin: req.origin,
      identity: req.identity,
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
  return await send(ctx, tag, req);
}

/**
 * Queues the write and waits for it, or for the request's deadline: a write still waiting
 * for the link at the deadline is withdrawn (`timeout`, nothing sent); one on the wire at
 * the deadline is answered `outcome_unknown` and finishes in the background.
 */
async function send(ctx: WriteContext, tag: Tag, req: WriteRequest): Promise<WriteResult> {
  let started = false;
  let withdrawn = false;
  const driver = ctx.driver();
  const job = ctx.queue
    .run("write", `write:${tag.tag_name}`, async () => {
      if (withdrawn) return;
      started = true;
      await driver.write(tag, req.value);
    })
    .then(
      (): WriteResult => ({ ok: true }),
      // A job failed before it started (the link was lost while it waited: the queue
      // rejects waiting jobs with the error of another request) sent nothing.
      (e): WriteResult => failed(ctx, tag, toNodiError(e, "communication"), started),
    );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const atDeadline = new Promise<WriteResult>((resolve) => {
    timer = setTimeout(
      () => {
        if (!started) {
          withdrawn = true;
          resolve({
            ok: false,
            reason: "timeout",
            message: "not sent: the link was busy until the writer's deadline",
          });
          return;
        }
        // On the wire: whatever the device answers later, the writer is told now.
        void job.then(() => ctx.readBack(tag));
        resolve({
          ok: false,
          reason: OUTCOME_UNKNOWN,
          message: `sent, no reply before the writer's deadline; ${OUTCOME_UNKNOWN_ADVICE}`,
        });
      },
      Math.max(0, req.deadline - Date.now()),
    );
  });
  try {
    return await Promise.race([job, atDeadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The result of a failed write; outcome unknown when it was sent without a usable reply. */
function failed(ctx: WriteContext, tag: Tag, err: NodiError, started: boolean): WriteResult {
  ctx.recordError(err, `write:${tag.tag_name}`);
  if (errorPolicy[err.kind].linkLost) ctx.onLinkLost(err);
  if (started && isOutcomeUnknown(err)) {
    ctx.readBack(tag);
    return {
      ok: false,
      reason: OUTCOME_UNKNOWN,
      message: `${err.message}; ${OUTCOME_UNKNOWN_ADVICE}`,
    };
  }
  return { ok: false, reason: err.reason, message: err.message };
}

/**
 * True when a failed write may have been applied: it was sent (`details.sent`, set by the
 * Modbus session) and no usable reply came (timeout, link lost, unreadable reply). A
 * timeout of a driver that does not say whether it sent counts as sent.
 */
export function isOutcomeUnknown(err: NodiError): boolean {
  const sent = err.details.sent;
  if (sent === false) return false;
  if (err.kind === "timeout") return true;
  return sent === true && (err.kind === "communication" || err.kind === "decode");
}
