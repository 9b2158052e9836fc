import { NodiError } from "../../core/errors.ts";
import { dataTagPath } from "../../core/paths.ts";
import type { TagScalar, TagValue } from "../../core/tag-value.ts";
import { writeBool, writeIntegerText, writeNumber, writeText } from "../../core/write-value.ts";
import type { Tag } from "../../store/schema.ts";
import { OUTCOME_UNKNOWN } from "../../tagbus/tagbus.ts";
import { describeWriteTimeout } from "../../tagbus/write-timeout.ts";
import type { Ctx } from "../app.ts";
import { HttpError, json, readJson } from "../http.ts";
import { type LiveMessage, tagMatcher } from "../live-hub.ts";
import { inScope } from "../roles.ts";
import type { Router } from "../router.ts";
import { mustGetConfig } from "./config.ts";

/** Longest a write waits for the owning app's answer, ms. */
export const WRITE_TIMEOUT_MS = 10_000;
/** Event streams one caller (an actor: a user's sessions, or a token) may hold open at once. */
export const MAX_STREAMS_PER_CALLER = 16;
/** Event streams open at once in all (each holds a socket). */
export const MAX_STREAMS = 256;
/** Interval of SSE keep-alive comments, ms. */
const HEARTBEAT_MS = 15_000;
/** How often an open stream re-checks its session or token (logout, revocation, expiry), ms. */
export const STREAM_AUTH_CHECK_MS = 2_000;

/** Open event streams per app (keyed by its LiveHub): by actor (`web:alice`, `token:NAME@alice`) and in all. */
const placesOf = new WeakMap<object, { byActor: Map<string, number>; total: number }>();

/**
 * Takes a stream place for `actor` in the app of `hub`. @returns the function that gives it
 * back (idempotent).
 * @throws HttpError 429 `too_many_streams` over {@link MAX_STREAMS_PER_CALLER} or {@link MAX_STREAMS}.
 */
function takeStreamPlace(hub: object, actor: string): () => void {
  let places = placesOf.get(hub);
  if (!places) {
    places = { byActor: new Map(), total: 0 };
    placesOf.set(hub, places);
  }
  const p = places;
  const mine = p.byActor.get(actor) ?? 0;
  if (mine >= MAX_STREAMS_PER_CALLER || p.total >= MAX_STREAMS) {
    throw new HttpError(
      429,
      "too_many_streams",
      mine >= MAX_STREAMS_PER_CALLER
        ? `at most ${MAX_STREAMS_PER_CALLER} open live streams per user or token; close some pages`
        : `at most ${MAX_STREAMS} open live streams in all`,
    );
  }
  p.byActor.set(actor, mine + 1);
  p.total++;
  let given = false;
  return () => {
    if (given) return;
    given = true;
    p.total--;
    const n = (p.byActor.get(actor) ?? 1) - 1;
    if (n <= 0) p.byActor.delete(actor);
    else p.byActor.set(actor, n);
  };
}

/** A tag value as the API shows it: the bus value plus `tag` (its name) and `age_ms`. */
function view(v: TagValue, now: number): Record<string, unknown> {
  return { ...v, tag: v.path.split("/").slice(2).join("/"), age_ms: Math.max(0, now - v.ts) };
}

/**
 * Converts a JSON value to what a tag of `tag.data_type` accepts, by the strict rule of
 * `src/core/write-value.ts`: booleans for `bool`/`bit` (`true`/`false`, `1`/`0`,
 * `"true"`/`"false"`/`"1"`/`"0"`), strings for `string`, finite numbers or plain decimal text
 * otherwise (64-bit integers may come as exact integer text). Ranges are checked by the
 * owning app (the same rule again, in its driver).
 * @throws NodiError `out_of_range` naming the tag, the value and what was expected.
 */
export function coerceWriteValue(
  tag: Pick<Tag, "data_type" | "tag_name">,
  value: unknown,
): TagScalar {
  const what = `tag ${tag.tag_name} (${tag.data_type})`;
  switch (tag.data_type) {
    case "bool":
    case "bit":
      return writeBool(value, what);
    case "string":
      return writeText(value, what);
    case "int64":
    case "uint64":
      if (writeIntegerText(value) !== undefined) return value as string;
      return writeNumber(value, what);
    default:
      return writeNumber(value, what);
  }
}

/**
 * Live routes: `GET /api/connections/:id/values` (current values),
 * `GET /api/connections/:id/stream?match=GLOB&tags=a,b` (server-sent events, filtered on the
 * server: a tag is streamed when it matches `match` (see {@link tagMatcher}) or is one of
 * `tags`; neither = every tag),
 * `GET /api/connections/:id/trend?tag=X&minutes=5`, and
 * `POST /api/connections/:id/tags/:tag/write` `{ value }`.
 */
export function liveRoutes(r: Router<Ctx>): void {
  r.on("GET", "/api/connections/:id/values", async (_req, p, ctx) => {
    mustGetConfig(ctx, p.id!);
    const now = Date.now();
    const values = await ctx.deps.bus.list(`/${p.id}/`);
    return json({ values: values.map((v) => view(v, now)) });
  });

  r.on("GET", "/api/connections/:id/stream", (req, p, ctx) => {
    mustGetConfig(ctx, p.id!);
    const tagsParam = ctx.url.searchParams.get("tags");
    const matchParam = ctx.url.searchParams.get("match");
    let match: ((tag: string) => boolean) | undefined;
    try {
      match = matchParam ? tagMatcher(matchParam) : undefined;
    } catch (e) {
      throw new HttpError(400, "bad_request", `match: ${(e as Error).message}`);
    }
    const names = tagsParam ? new Set(tagsParam.split(",").filter(Boolean)) : undefined;
    const filter = names || match ? { names, match } : null;
    const enc = new TextEncoder();
    const release = takeStreamPlace(ctx.live, ctx.actor);
    let stop = release;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        const write = (s: string) => {
          try {
            controller.enqueue(enc.encode(s));
          } catch {
            stop();
          }
        };
        write("retry: 2000\n\n");
        const unwatch = ctx.live.watch(p.id!, filter, (m: LiveMessage) => {
          if (m.kind === "gap") write(`event: gap\ndata: ${JSON.stringify(m)}\n\n`);
          else if (m.kind === "bus") write(`event: bus\ndata: ${JSON.stringify(m)}\n\n`);
          else {
            const now = Date.now();
            write(`event: values\ndata: ${JSON.stringify(m.values.map((v) => view(v, now)))}\n\n`);
          }
        });
        const hb = setInterval(() => write(": keep-alive\n\n"), HEARTBEAT_MS);
        // Logout, a password change, token revocation or expiry ends the stream too.
        const check = setInterval(() => {
          if (ctx.stillAuthorized()) return;
          stop();
          try {
            controller.close();
          } catch {
            // already closed
          }
        }, STREAM_AUTH_CHECK_MS);
        let stopped = false;
        stop = () => {
          if (stopped) return;
          stopped = true;
          clearInterval(hb);
          clearInterval(check);
          unwatch();
          release();
        };
        req.signal.addEventListener("abort", () => stop());
      },
      cancel() {
        stop();
      },
    });
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  });

  r.on("GET", "/api/connections/:id/trend", async (_req, p, ctx) => {
    const cfg = mustGetConfig(ctx, p.id!);
    const tag = ctx.url.searchParams.get("tag") ?? "";
    if (!cfg.tags.some((t) => t.tag_name === tag)) {
      throw new NodiError("not_found", `no tag "${tag}" in connection "${p.id}"`, "not_found");
    }
    const minutes = Math.min(
      Math.max(Number(ctx.url.searchParams.get("minutes") ?? 5) || 5, 1),
      15,
    );
    const since = Date.now() - minutes * 60_000;
    return json({
      path: dataTagPath(p.id!, tag),
      since,
      points: await ctx.live.trendWhenReady(p.id!, tag, since),
    });
  });

  r.on("POST", "/api/connections/:id/tags/:tag/write", async (req, p, ctx) => {
    const cfg = mustGetConfig(ctx, p.id!);
    const tag = cfg.tags.find((t) => t.tag_name === p.tag);
    if (!tag)
      throw new NodiError("not_found", `no tag "${p.tag}" in connection "${p.id}"`, "not_found");
    const path = dataTagPath(p.id!, p.tag!);
    const body = await readJson(req);
    if (!("value" in body)) throw new HttpError(400, "bad_request", "body must be { value }");
    const audit = (ok: boolean, detail: Record<string, unknown>) =>
      ctx.audit.record({
        kind: "write",
        identity: ctx.identity,
        action: "tag.write",
        target: path,
        value: body.value,
        result: ok ? "done" : detail.reason === OUTCOME_UNKNOWN ? "outcome_unknown" : "refused",
        ...(typeof detail.reason === "string" ? { reason: detail.reason } : {}),
        detail,
      });
    if (!inScope(ctx.principal.conns, p.id!)) {
      audit(false, { reason: "forbidden" });
      throw new HttpError(
        403,
        "forbidden",
        `you may write tags of ${ctx.principal.conns?.join(", ") || "no connection"} only, not of ${p.id}`,
      );
    }
    if (tag.access !== "read-write") {
      audit(false, { reason: "read_only" });
      throw new NodiError("read_only", `${path} is read-only (access: ${tag.access})`, "read_only");
    }
    let value: TagScalar;
    try {
      value = coerceWriteValue(tag, body.value);
    } catch (e) {
      audit(false, { reason: "out_of_range" });
      throw e;
    }
    const started = Date.now();
    let result = await ctx.deps.bus.write(path, value, {
      timeoutMs: WRITE_TIMEOUT_MS,
      origin: ctx.actor,
      identity: ctx.identity,
    });
    if (!result.ok && result.reason === "timeout" && result.message?.startsWith("no result")) {
      result = {
        ...result,
        message: await describeWriteTimeout(ctx.deps.bus, path, WRITE_TIMEOUT_MS),
      };
    }
    const elapsed = Date.now() - started;
    // The owning app records every write it answered (with the previous value); what no app
    // answered (timeout, outcome unknown, disconnected) only the writer can record.
    if (!result.ok && result.writerSide) {
      audit(false, { reason: result.reason, message: result.message, elapsed_ms: elapsed });
    }
    if (result.ok) return json({ ok: true, path, value, elapsed_ms: elapsed });
    // 504 for both: `timeout` (nothing was sent) and `outcome_unknown` (sent, no reply in
    // time: the device may have applied it); `reason` tells them apart.
    const status =
      result.reason === "timeout" || result.reason === OUTCOME_UNKNOWN
        ? 504
        : result.reason === "read_only"
          ? 403
          : result.reason === "out_of_range"
            ? 400
            : 502;
    return json(
      {
        ok: false,
        path,
        value,
        reason: result.reason,
        message: result.message ?? result.reason,
        elapsed_ms: elapsed,
      },
      status,
    );
  });
}
