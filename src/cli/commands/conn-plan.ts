import type { Command } from "commander";
import { NodiError } from "../../core/errors.ts";
import { systemTagPath } from "../../core/paths.ts";
import type { RefusedSpan } from "../../drivers/modbus/auto-plan.ts";
import { hasAutoTags, type RequestPlan, requestPlan } from "../../drivers/modbus/request-plan.ts";
import { HEALTH_TAGS } from "../../intf/health.ts";
import { parseRefusedSpans } from "../../intf/refused-spans.ts";
import { openTagBus } from "../../tagbus/index.ts";
import type { CliContext } from "../context.ts";
import { formatTable } from "../table.ts";

/** Longest list of tag names shown in one cell of the human table, characters. */
const TAGS_SHOWN_MAX = 48;

/**
 * Where the refused spans came from: `app` (the running app's `refused_spans` system tag),
 * `none` (no auto tags, or `--static`: the plan as configured), `unreachable` (Redis did not
 * answer: the plan as configured).
 */
type SpansSource = "app" | "none" | "unreachable";

/** Reads `/system/{connId}/refused_spans` from the bus; undefined when Redis is unreachable. */
async function liveSpans(ctx: CliContext, connId: string): Promise<RefusedSpan[] | undefined> {
  const bus = await openTagBus(ctx.settings(), "cli");
  try {
    if (!bus.stats().connected) return undefined;
    const v = await bus.get(systemTagPath(connId, HEALTH_TAGS.refusedSpans));
    return parseRefusedSpans(v?.value);
  } finally {
    await bus.close(1000);
  }
}

/** The human table of a plan. */
export function formatPlan(plan: RequestPlan, source: SpansSource): string {
  const lines: string[] = [];
  const n = plan.requests.length;
  const base =
    plan.address_base === 1 ? " (addresses one-based: the wire address is one less)" : "";
  lines.push(`read requests of ${plan.conn_id}: ${n}${base}`);
  if (n > 0) {
    const withDevice = plan.requests.some((r) => r.device !== "");
    lines.push(
      formatTable(
        [
          "block_id",
          ...(withDevice ? ["device"] : []),
          "unit",
          "table",
          "fc",
          "addresses",
          "count",
          "period_ms",
          "tags",
        ],
        plan.requests.map((r) => {
          const names = r.tags.join(" ");
          const shown =
            names.length > TAGS_SHOWN_MAX ? `${names.slice(0, TAGS_SHOWN_MAX - 1)}…` : names;
          return [
            `${r.block_id}${r.refused ? " (refused)" : ""}`,
            ...(withDevice ? [r.device || "(default)"] : []),
            String(r.unit_id),
            r.table,
            String(r.fc),
            r.first === r.last ? String(r.first) : `${r.first}–${r.last}`,
            String(r.count),
            r.period_ms === null ? "write-only" : String(r.period_ms),
            r.tags.length === 0 ? "0" : `${r.tags.length}: ${shown}`,
          ];
        }),
      ),
    );
  }
  if (source === "app") {
    if (plan.refused.length === 0)
      lines.push("", "refused spans: none (as the running app reports)");
    else {
      lines.push(
        "",
        `refused spans (exception 02, learned by the running app): ${plan.refused.length}`,
      );
      lines.push(
        formatTable(
          ["device", "table", "addresses"],
          plan.refused.map((s) => [
            s.device || "(default)",
            s.table,
            s.end - s.start === 1 ? String(s.start) : `${s.start}–${s.end - 1}`,
          ]),
        ),
      );
    }
  }
  return lines.join("\n");
}

/** `nodi-edge conn plan ID [--static]`. */
export function registerPlan(conn: Command, ctx: CliContext): void {
  conn
    .command("plan")
    .description(
      "show the read requests of a Modbus connection (explicit blocks and the automatic blocks of its auto tags)",
    )
    .argument("<conn_id>")
    .option(
      "--static",
      "the plan as configured, without asking the running app which spans the device refused",
    )
    .action(async (connId: string, opts: { static?: boolean }) => {
      const store = ctx.openStore();
      let cfg: ReturnType<typeof store.getConnectionConfig>;
      try {
        cfg = store.getConnectionConfig(connId);
      } finally {
        store.close();
      }
      if (!cfg) throw new NodiError("not_found", `no connection "${connId}"`);
      requestPlan(cfg); // refuses an opcua connection before any bus round trip
      let source: SpansSource = "none";
      let spans: RefusedSpan[] = [];
      if (!opts.static && hasAutoTags(cfg)) {
        const live = await liveSpans(ctx, connId);
        if (live === undefined) {
          source = "unreachable";
          ctx.io.err(
            "note: Redis is unreachable: the plan as configured, without the spans the running app may have learned the device refuses\n",
          );
        } else {
          source = "app";
          spans = live;
        }
      }
      const plan = requestPlan(cfg, spans);
      ctx.print({ ...plan, refused_source: source }, () => formatPlan(plan, source));
    });
}
