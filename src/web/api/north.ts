import { NodiError } from "../../core/errors.ts";
import type { TagValue } from "../../core/tag-value.ts";
import { withholdSecrets } from "../../loader/export.ts";
import { WITHHELD } from "../../loader/import.ts";
import type { Northbound } from "../../store/northbound-schema.ts";
import { buildNorthStatus, type NorthStatus } from "../../supervisor/north-status.ts";
import type { TagBus } from "../../tagbus/tagbus.ts";
import type { Ctx } from "../app.ts";
import { HttpError, json, readJson } from "../http.ts";
import type { Router } from "../router.ts";
import { applyAndAnnounce, diffFields } from "./config.ts";

/** The stored northbound `id`. @throws NodiError `not_found`. */
function mustGet(ctx: Ctx, id: string): Northbound {
  const n = ctx.deps.store.getNorthbound(id);
  if (!n) throw new NodiError("not_found", `no northbound "${id}"`, "not_found");
  return n;
}

/** Status rows of `rows` from the current `/system/…` values (every state `unknown` while Redis is unreachable). */
async function statusOf(bus: TagBus, rows: readonly Northbound[], prefix = "/system/") {
  let tags: TagValue[] = [];
  try {
    tags = await bus.list(prefix);
  } catch {
    // Redis unreachable
  }
  return new Map(buildNorthStatus(rows, tags, Date.now()).map((s) => [s.north_id, s]));
}

/** A row as the API shows it: the password withheld ({@link WITHHELD} when set). */
const shown = (n: Northbound | undefined, status?: NorthStatus) =>
  n ? { ...withholdSecrets(n), ...(status ? { status } : {}) } : null;

/** A body's password: absent or {@link WITHHELD} keeps the stored one (`null` clears it). */
function keepPassword(body: Record<string, unknown>, stored: Northbound | undefined) {
  if (body.password === undefined || body.password === WITHHELD) {
    const { password: _, ...rest } = body;
    return stored ? { ...rest, password: stored.password } : rest;
  }
  return body;
}

const dry = (ctx: Ctx) => ctx.url.searchParams.get("dry_run") === "1";
const redact = (row: Record<string, unknown>) => (row.password ? { ...row, password: "***" } : row);

/**
 * Northbound routes (docs/api.md): `GET|POST /api/northbounds`,
 * `GET|PUT|DELETE /api/northbounds/:id`, `POST /api/northbounds/:id/enable|disable`.
 * Rows come with the password withheld; a write without `password` (or with `*withheld*`)
 * keeps the stored one. Every write accepts `?dry_run=1`, is validated like every other
 * configuration edit, and announces north_added / north_removed / config_reload.
 */
export function northRoutes(r: Router<Ctx>): void {
  r.on("GET", "/api/northbounds", async (_req, _p, ctx) => {
    const rows = ctx.deps.store.listNorthbounds();
    const status = await statusOf(ctx.deps.bus, rows);
    return json({ northbounds: rows.map((n) => shown(n, status.get(n.north_id))) });
  });

  r.on("POST", "/api/northbounds", async (req, _p, ctx) => {
    const body = await readJson(req);
    const id = typeof body.north_id === "string" ? body.north_id : "";
    if (id && ctx.deps.store.getNorthbound(id)) {
      throw new HttpError(
        409,
        "exists",
        `northbound "${id}" exists; use PUT /api/northbounds/${id}`,
      );
    }
    const res = await applyAndAnnounce(
      ctx,
      { putNorthbounds: [body], dryRun: dry(ctx) },
      "northbound.add",
      id,
      { northbound: redact(body) },
    );
    return json(
      {
        changes: res.northChanges,
        dry_run: res.dryRun,
        northbound: shown(ctx.deps.store.getNorthbound(id)),
      },
      res.dryRun ? 200 : 201,
    );
  });

  r.on("GET", "/api/northbounds/:id", async (_req, p, ctx) => {
    const n = mustGet(ctx, p.id!);
    const status = await statusOf(ctx.deps.bus, [n], `/system/${n.north_id}/`);
    return json({ northbound: shown(n, status.get(n.north_id)) });
  });

  r.on("PUT", "/api/northbounds/:id", async (req, p, ctx) => {
    const cur = mustGet(ctx, p.id!);
    const body = await readJson(req);
    if (body.north_id !== undefined && body.north_id !== p.id) {
      throw new HttpError(
        400,
        "id_mismatch",
        `north_id in the body ("${body.north_id}") is not the URL's ("${p.id}")`,
      );
    }
    const row = { ...cur, ...keepPassword(body, cur), north_id: p.id };
    const res = await applyAndAnnounce(
      ctx,
      { putNorthbounds: [row], dryRun: dry(ctx) },
      "northbound.edit",
      p.id!,
      { fields: diffFields(cur, row) },
    );
    return json({
      changes: res.northChanges,
      dry_run: res.dryRun,
      northbound: shown(ctx.deps.store.getNorthbound(p.id!)),
    });
  });

  for (const [verb, enabled] of [
    ["enable", true],
    ["disable", false],
  ] as const) {
    r.on("POST", `/api/northbounds/:id/${verb}`, async (_req, p, ctx) => {
      const cur = mustGet(ctx, p.id!);
      const res = await applyAndAnnounce(
        ctx,
        { putNorthbounds: [{ ...cur, enabled }] },
        `northbound.${verb}`,
        p.id!,
      );
      return json({
        changes: res.northChanges,
        northbound: shown(ctx.deps.store.getNorthbound(p.id!)),
      });
    });
  }

  r.on("DELETE", "/api/northbounds/:id", async (_req, p, ctx) => {
    mustGet(ctx, p.id!);
    const res = await applyAndAnnounce(
      ctx,
      { removeNorthbounds: [p.id!], dryRun: dry(ctx) },
      "northbound.remove",
      p.id!,
    );
    return json({ changes: res.northChanges, dry_run: res.dryRun });
  });
}
