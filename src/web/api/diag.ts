import { systemTagPath } from "../../core/paths.ts";
import type { RefusedSpan } from "../../drivers/modbus/auto-plan.ts";
import { hasAutoTags, requestPlan } from "../../drivers/modbus/request-plan.ts";
import { HEALTH_TAGS } from "../../intf/health.ts";
import { parseRefusedSpans } from "../../intf/refused-spans.ts";
import type { Ctx } from "../app.ts";
import { json } from "../http.ts";
import type { Router } from "../router.ts";
import { readStatus } from "../status.ts";
import { mustGetConfig } from "./config.ts";

/**
 * `GET /api/connections/:id/diagnostics?lines=50`: the app's state and health (timer
 * statistics per block, request/error counters, as the app publishes them in
 * `/system/{id}/health`), the recent configuration journal of the connection, and the
 * app's recent log lines with the source that gave them (`journald` under systemd, else
 * `health`: the `recentLogs` of the app's health tag, else `errors`: the app's `last_error`
 * tags recorded by the live hub; see docs/web.md).
 */
export function diagRoutes(r: Router<Ctx>): void {
  /**
   * `GET /api/connections/:id/plan[?static=1]`: the read requests of a Modbus connection
   * (`drivers/modbus/request-plan.ts`), with the spans the running app learned the device
   * refuses (`/system/{id}/refused_spans`) unless `static=1`; `refused_source` says where they
   * came from: `app`, `none` (static, or no auto tags), `unreachable` (Redis did not answer).
   * An opcua connection: 400 (NodiError `configuration`).
   */
  r.on("GET", "/api/connections/:id/plan", async (_req, p, ctx) => {
    const cfg = mustGetConfig(ctx, p.id!);
    requestPlan(cfg); // refuses opcua before any bus round trip
    let spans: RefusedSpan[] = [];
    let source = "none";
    if (ctx.url.searchParams.get("static") !== "1" && hasAutoTags(cfg)) {
      try {
        const v = await ctx.deps.bus.get(systemTagPath(p.id!, HEALTH_TAGS.refusedSpans));
        spans = parseRefusedSpans(v?.value);
        source = "app";
      } catch {
        source = "unreachable";
      }
    }
    return json({ ...requestPlan(cfg, spans), refused_source: source });
  });

  r.on("GET", "/api/connections/:id/diagnostics", async (_req, p, ctx) => {
    const cfg = mustGetConfig(ctx, p.id!);
    const n = Math.min(Math.max(Number(ctx.url.searchParams.get("lines") ?? 50) || 50, 1), 500);
    const [status, lines] = await Promise.all([
      readStatus(ctx.deps.bus, cfg.connection),
      ctx.logs.recent(p.id!, n),
    ]);
    return json({
      ts: Date.now(),
      conn_id: p.id,
      enabled: cfg.connection.enabled,
      status,
      blocks: cfg.blocks.map((b) => ({
        block_id: b.block_id,
        period_ms: b.period_ms,
        enabled: b.enabled,
        // the request plan: what one poll of the block asks for
        table: b.table,
        address: b.address,
        count: b.count,
        device: b.device ?? null,
        tags: cfg.tags.filter((t) => t.block_id === b.block_id).length,
      })),
      journal: ctx.deps.store.journal({ connId: p.id!, limit: 20 }),
      logs: {
        source: lines[0]?.source ?? ctx.logs.name,
        lines: lines.map(({ source: _, ...l }) => l),
      },
    });
  });
}
