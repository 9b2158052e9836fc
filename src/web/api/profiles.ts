import { NodiError } from "../../core/errors.ts";
import type { ProfileConfig } from "../../store/schema.ts";
import type { Store } from "../../store/store.ts";
import type { Ctx } from "../app.ts";
import { HttpError, json, readJson } from "../http.ts";
import type { Router } from "../router.ts";
import { applyAndAnnounce } from "./config.ts";

/** The devices that are instances of `name`: `{ conn_id, device, unit_id }`. */
function instancesOf(store: Store, name: string) {
  return store
    .getAllStoredConfigs()
    .flatMap((c) => (c.devices ?? []).filter((d) => d.profile === name))
    .map((d) => ({ conn_id: d.conn_id, device: d.device, unit_id: d.unit_id }));
}

function mustGet(ctx: Ctx, name: string): ProfileConfig {
  const p = ctx.deps.store.getProfile(name);
  if (!p) throw new NodiError("not_found", `no profile "${name}"`, "not_found");
  return p;
}

const rowsOf = (x: unknown, name: string): unknown[] | undefined =>
  Array.isArray(x)
    ? x.map((r) => (r && typeof r === "object" ? { ...(r as object), profile: name } : r))
    : undefined;

/**
 * Device profile routes (issue 14, docs/api.md "Device profiles"): `GET /api/profiles`,
 * `GET|PUT|DELETE /api/profiles/:name`. A PUT replaces the whole profile (its row, blocks and
 * tags), validated like profiles.csv, and hot-reloads every connection with an instance; a
 * DELETE is refused (409) while a device is an instance. Writes accept `?dry_run=1`.
 * Instances are devices (`PUT /api/connections/:id/devices/:device` with `profile`).
 */
export function profileRoutes(r: Router<Ctx>): void {
  r.on("GET", "/api/profiles", (_req, _p, ctx) => {
    const store = ctx.deps.store;
    return json({
      profiles: store.listProfiles().map((p) => ({
        ...p.profile,
        block_count: p.blocks.length,
        tag_count: p.tags.length,
        instances: instancesOf(store, p.profile.profile),
      })),
    });
  });

  r.on("GET", "/api/profiles/:name", (_req, p, ctx) => {
    const prof = mustGet(ctx, p.name!);
    return json({ ...prof, instances: instancesOf(ctx.deps.store, p.name!) });
  });

  r.on("PUT", "/api/profiles/:name", async (req, p, ctx) => {
    const name = p.name!;
    const body = await readJson(req);
    const blocks = rowsOf(body.blocks, name);
    const tags = rowsOf(body.tags, name);
    if (!blocks || !tags) {
      throw new HttpError(
        400,
        "bad_request",
        "body must be { profile: { description, address_base }, blocks: [...], tags: [...] }",
      );
    }
    const row = body.profile && typeof body.profile === "object" ? body.profile : {};
    const given = (row as Record<string, unknown>).profile;
    if (given !== undefined && given !== name) {
      throw new HttpError(
        400,
        "id_mismatch",
        `profile in the body ("${String(given)}") is not the URL's ("${name}")`,
      );
    }
    const existed = ctx.deps.store.getProfile(name) !== undefined;
    const dryRun = ctx.url.searchParams.get("dry_run") === "1";
    const res = await applyAndAnnounce(
      ctx,
      { putProfiles: [{ profile: { ...row, profile: name }, blocks, tags }], dryRun },
      existed ? "profile.edit" : "profile.add",
      `profile:${name}`,
      { blocks: blocks.length, tags: tags.length },
    );
    return json(
      { changes: res.changes, profile_changes: res.profileChanges, dry_run: res.dryRun },
      existed || res.dryRun ? 200 : 201,
    );
  });

  r.on("DELETE", "/api/profiles/:name", async (_req, p, ctx) => {
    const name = p.name!;
    mustGet(ctx, name);
    const used = instancesOf(ctx.deps.store, name);
    if (used.length > 0) {
      throw new HttpError(
        409,
        "in_use",
        `profile "${name}" has ${used.length} instance(s): ${used.map((u) => `${u.conn_id}/${u.device}`).join(", ")}; remove those devices or give them another profile first`,
      );
    }
    const dryRun = ctx.url.searchParams.get("dry_run") === "1";
    const res = await applyAndAnnounce(
      ctx,
      { removeProfiles: [name], dryRun },
      "profile.remove",
      `profile:${name}`,
    );
    return json({ changes: res.changes, profile_changes: res.profileChanges, dry_run: res.dryRun });
  });
}
