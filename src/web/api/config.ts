import { NodiError } from "../../core/errors.ts";
import { dataTagPath } from "../../core/paths.ts";
import { withholdConfigSecrets, withholdConnectionSecrets } from "../../loader/export.ts";
import { WITHHELD } from "../../loader/import.ts";
import type { ConfigEdit, EditResult } from "../../store/apply.ts";
import { FIELD_HELP_KO } from "../../store/field-help-ko.ts";
import { fieldText } from "../../store/field-text.ts";
import { FIELD_LABELS_KO } from "../../store/field-text-ko.ts";
import { type Entity, FIELDS } from "../../store/fields.ts";
import { notifyChanges } from "../../store/notify.ts";
import type { Block, Connection, ConnectionConfig, Tag } from "../../store/schema.ts";
import { PROTOCOLS } from "../../store/schema.ts";
import { PROTOCOL_FIELDS } from "../../store/validate.ts";
import { NORTH_KIND_FIELDS } from "../../store/validate-north.ts";
import type { Ctx } from "../app.ts";
import { recordWeb } from "../audit.ts";
import { HttpError, json, readJson } from "../http.ts";
import type { Router } from "../router.ts";
import { readAllStatus, readStatus } from "../status.ts";

const MODBUS = PROTOCOLS.filter((p) => p !== "opcua");
/**
 * Which protocols each connection field applies to, for the form (fields not listed apply to
 * all): the validator's rule, plus the Modbus-only request limits, which always have defaults
 * and so are not refused for OPC UA.
 */
const FORM_PROTOCOL_FIELDS: Record<string, readonly string[]> = {
  ...PROTOCOL_FIELDS,
  max_registers_per_request: MODBUS,
  max_bits_per_request: MODBUS,
  max_gap_registers: MODBUS,
  max_gap_bits: MODBUS,
};

/**
 * Applies `edit` with the same semantics as the CSV loader: validate and write the source of
 * truth in one transaction (`Store.apply`), THEN publish the system tags of the committed
 * changes (`notifyChanges`: hot reload, restart, service add/remove), and record the attempt
 * in the audit trail either way.
 * @throws what `Store.apply` throws (NodiError `configuration` with `details.issues`, `not_found`).
 */
export async function applyAndAnnounce(
  ctx: Ctx,
  edit: Omit<ConfigEdit, "origin">,
  action: string,
  target: string,
  detail: Record<string, unknown> = {},
): Promise<EditResult> {
  let result: EditResult;
  try {
    // the entry of a committed change is recorded in the change's own transaction
    result = ctx.deps.store.apply({
      ...edit,
      origin: ctx.actor,
      audit: { identity: ctx.identity, action, target, detail, recordedBy: "ne-web" },
    });
  } catch (e) {
    if (!edit.dryRun) {
      recordWeb(ctx, {
        action,
        target,
        ok: false,
        reason: (e as { reason?: string }).reason ?? "error",
        detail: { ...detail, error: (e as Error).message },
      });
    }
    throw e;
  }
  if (result.dryRun) return result;
  await notifyChanges(ctx.deps.bus, result);
  return result;
}

/** A stored connection as the API shows it: its password {@link WITHHELD} when set, or `null`. */
const shown = (c: Connection | undefined) => (c ? withholdConnectionSecrets(c) : null);

/** The stored configuration of `connId`. @throws NodiError `not_found`. */
export function mustGetConfig(ctx: Ctx, connId: string): ConnectionConfig {
  const cfg = ctx.deps.store.getConnectionConfig(connId);
  if (!cfg) throw new NodiError("not_found", `no connection "${connId}"`, "not_found");
  return cfg;
}

const dry = (ctx: Ctx) => ctx.url.searchParams.get("dry_run") === "1";

/** A body's `conn_id`, when present, must be the URL's. */
function sameId(body: Record<string, unknown>, key: string, want: string): void {
  if (body[key] !== undefined && body[key] !== want) {
    throw new HttpError(
      400,
      "id_mismatch",
      `${key} in the body ("${body[key]}") is not the URL's ("${want}")`,
    );
  }
}

/**
 * Configuration routes (see docs/api.md):
 * connections `GET|POST /api/connections`, `GET|PUT|DELETE /api/connections/:id`,
 * `POST /api/connections/:id/enable|disable`; blocks and tags
 * `PUT|DELETE /api/connections/:id/devices/:device` (devices on the link),
 * `PUT|DELETE /api/connections/:id/blocks/:block`, `PUT|DELETE /api/connections/:id/tags/:tag`,
 * and the whole tables `PUT /api/connections/:id/config`. Every write accepts `?dry_run=1`
 * (validate and classify only).
 */
export function configRoutes(r: Router<Ctx>): void {
  r.on("GET", "/api/schema", () =>
    json({
      fields: FIELDS,
      protocolFields: FORM_PROTOCOL_FIELDS,
      northKindFields: NORTH_KIND_FIELDS,
      // the labels and one-line help in other languages, keyed by the English text
      // (field-text-ko.ts, field-help-ko.ts)
      labels: { ko: FIELD_LABELS_KO },
      helps: { ko: FIELD_HELP_KO },
      // labels, units and one-line help of the forms (src/store/field-text.ts)
      text: Object.fromEntries(
        (Object.keys(FIELDS) as Entity[]).map((e) => [
          e,
          Object.fromEntries(
            FIELDS[e].flatMap((f) => {
              const t = fieldText(e, f.name);
              return t ? [[f.name, t]] : [];
            }),
          ),
        ]),
      ),
    }),
  );

  r.on("GET", "/api/connections", async (_req, _p, ctx) => {
    const configs = ctx.deps.store.getAllConfigs();
    const status = await readAllStatus(
      ctx.deps.bus,
      configs.map((c) => c.connection),
    );
    return json({
      ts: Date.now(),
      connections: configs.map((c) => ({
        ...withholdConnectionSecrets(c.connection),
        block_count: c.blocks.length,
        tag_count: c.tags.length,
        status: status.get(c.connection.conn_id),
      })),
    });
  });

  r.on("POST", "/api/connections", async (req, _p, ctx) => {
    const body = await readJson(req);
    const id = typeof body.conn_id === "string" ? body.conn_id : "";
    if (body.password === WITHHELD) {
      throw new HttpError(
        400,
        "bad_request",
        `password: ${WITHHELD} stands for a stored password, and a new connection has none`,
      );
    }
    if (id && ctx.deps.store.getConnection(id)) {
      throw new HttpError(
        409,
        "exists",
        `connection "${id}" exists; use PUT /api/connections/${id}`,
      );
    }
    const res = await applyAndAnnounce(
      ctx,
      { putConnections: [body], dryRun: dry(ctx) },
      "connection.add",
      id,
      { connection: redact(body) },
    );
    return json(
      {
        changes: res.changes,
        dry_run: res.dryRun,
        connection: shown(ctx.deps.store.getConnection(id)),
      },
      res.dryRun ? 200 : 201,
    );
  });

  r.on("GET", "/api/connections/:id", async (_req, p, ctx) => {
    const cfg = mustGetConfig(ctx, p.id!);
    const status = await readStatus(ctx.deps.bus, cfg.connection);
    return json({ ...withholdConfigSecrets(cfg), status });
  });

  r.on("PUT", "/api/connections/:id", async (req, p, ctx) => {
    const cur = mustGetConfig(ctx, p.id!);
    const body = await readJson(req);
    sameId(body, "conn_id", p.id!);
    // The password as GET shows it (*withheld*) keeps the stored one: a form round-trips.
    const keep = body.password === WITHHELD ? { password: cur.connection.password } : {};
    const row = { ...cur.connection, ...body, ...keep, conn_id: p.id };
    const res = await applyAndAnnounce(
      ctx,
      { putConnections: [row], dryRun: dry(ctx) },
      "connection.edit",
      p.id!,
      {
        fields: diffFields(cur.connection, row),
      },
    );
    return json({
      changes: res.changes,
      dry_run: res.dryRun,
      connection: shown(ctx.deps.store.getConnection(p.id!)),
    });
  });

  for (const [verb, enabled] of [
    ["enable", true],
    ["disable", false],
  ] as const) {
    r.on("POST", `/api/connections/:id/${verb}`, async (_req, p, ctx) => {
      const cur = mustGetConfig(ctx, p.id!);
      const res = await applyAndAnnounce(
        ctx,
        { putConnections: [{ ...cur.connection, enabled }] },
        `connection.${verb}`,
        p.id!,
      );
      return json({ changes: res.changes, connection: shown(ctx.deps.store.getConnection(p.id!)) });
    });
  }

  r.on("DELETE", "/api/connections/:id", async (_req, p, ctx) => {
    mustGetConfig(ctx, p.id!);
    const res = await applyAndAnnounce(
      ctx,
      { remove: [p.id!], dryRun: dry(ctx) },
      "connection.remove",
      p.id!,
    );
    return json({ changes: res.changes, dry_run: res.dryRun });
  });

  r.on("PUT", "/api/connections/:id/config", async (req, p, ctx) => {
    const cur = mustGetConfig(ctx, p.id!);
    const body = await readJson(req);
    if (!Array.isArray(body.blocks) || !Array.isArray(body.tags)) {
      throw new HttpError(400, "bad_request", "body must be { blocks: [...], tags: [...] }");
    }
    const blocks = body.blocks.map((b) => withConn(b, p.id!));
    const tags = body.tags.map((t) => withConn(t, p.id!));
    const res = await applyAndAnnounce(
      ctx,
      { put: [{ ...cur, blocks, tags }], dryRun: dry(ctx) },
      "config.replace",
      p.id!,
      { blocks: blocks.length, tags: tags.length },
    );
    return json({ changes: res.changes, dry_run: res.dryRun });
  });

  r.on("PUT", "/api/connections/:id/devices/:device", async (req, p, ctx) => {
    const cur = mustGetConfig(ctx, p.id!);
    const body = await readJson(req);
    sameId(body, "conn_id", p.id!);
    sameId(body, "device", p.device!);
    const devices = cur.devices ?? [];
    const old = devices.find((d) => d.device === p.device);
    const row = { ...(old ?? {}), ...body, conn_id: p.id, device: p.device };
    const next: unknown[] = old
      ? devices.map((d) => (d.device === p.device ? row : d))
      : [...devices, row];
    const res = await applyAndAnnounce(
      ctx,
      { put: [{ ...cur, devices: next }], dryRun: dry(ctx) },
      old ? "device.edit" : "device.add",
      `${p.id}/${p.device}`,
      old ? { fields: diffFields(old, row) } : { device: row },
    );
    return json({ changes: res.changes, dry_run: res.dryRun });
  });

  r.on("DELETE", "/api/connections/:id/devices/:device", async (_req, p, ctx) => {
    const cur = mustGetConfig(ctx, p.id!);
    const devices = cur.devices ?? [];
    if (!devices.some((d) => d.device === p.device)) {
      throw new NodiError(
        "not_found",
        `no device "${p.device}" in connection "${p.id}"`,
        "not_found",
      );
    }
    // Refused (validation) while a block names it: remove or move its blocks first.
    const res = await applyAndAnnounce(
      ctx,
      {
        put: [{ ...cur, devices: devices.filter((d) => d.device !== p.device) }],
        dryRun: dry(ctx),
      },
      "device.remove",
      `${p.id}/${p.device}`,
    );
    return json({ changes: res.changes, dry_run: res.dryRun });
  });

  r.on("PUT", "/api/connections/:id/blocks/:block", async (req, p, ctx) => {
    const cur = mustGetConfig(ctx, p.id!);
    const body = await readJson(req);
    sameId(body, "conn_id", p.id!);
    const old = cur.blocks.find((b) => b.block_id === p.block);
    const row = { ...(old ?? {}), ...body, conn_id: p.id };
    // Renaming a block (block_id in the body differs) carries its tags along.
    const newId = typeof body.block_id === "string" ? body.block_id : p.block!;
    (row as Record<string, unknown>).block_id = newId;
    const blocks: unknown[] = old
      ? cur.blocks.map((b) => (b.block_id === p.block ? row : b))
      : [...cur.blocks, row];
    const tags = cur.tags.map((t) =>
      t.block_id === p.block && newId !== p.block ? { ...t, block_id: newId } : t,
    );
    const res = await applyAndAnnounce(
      ctx,
      { put: [{ ...cur, blocks, tags }], dryRun: dry(ctx) },
      old ? "block.edit" : "block.add",
      `${p.id}/${p.block}`,
      old ? { fields: diffFields(old, row) } : { block: row },
    );
    return json({ changes: res.changes, dry_run: res.dryRun });
  });

  r.on("DELETE", "/api/connections/:id/blocks/:block", async (_req, p, ctx) => {
    const cur = mustGetConfig(ctx, p.id!);
    if (!cur.blocks.some((b) => b.block_id === p.block)) {
      throw new NodiError(
        "not_found",
        `no block "${p.block}" in connection "${p.id}"`,
        "not_found",
      );
    }
    const blocks: Block[] = cur.blocks.filter((b) => b.block_id !== p.block);
    const removedTags = cur.tags.filter((t) => t.block_id === p.block).map((t) => t.tag_name);
    const tags: Tag[] = cur.tags.filter((t) => t.block_id !== p.block);
    const res = await applyAndAnnounce(
      ctx,
      { put: [{ ...cur, blocks, tags }], dryRun: dry(ctx) },
      "block.remove",
      `${p.id}/${p.block}`,
      { removed_tags: removedTags },
    );
    return json({ changes: res.changes, dry_run: res.dryRun, removed_tags: removedTags });
  });

  r.on("PUT", "/api/connections/:id/tags/:tag", async (req, p, ctx) => {
    const cur = mustGetConfig(ctx, p.id!);
    const body = await readJson(req);
    sameId(body, "conn_id", p.id!);
    const old = cur.tags.find((t) => t.tag_name === p.tag);
    const row = { ...(old ?? {}), tag_name: p.tag, ...body, conn_id: p.id };
    const tags: unknown[] = old
      ? cur.tags.map((t) => (t.tag_name === p.tag ? row : t))
      : [...cur.tags, row];
    const res = await applyAndAnnounce(
      ctx,
      { put: [{ ...cur, tags }], dryRun: dry(ctx) },
      old ? "tag.edit" : "tag.add",
      dataTagPath(p.id!, p.tag!),
      old ? { fields: diffFields(old, row) } : { tag: row },
    );
    return json({ changes: res.changes, dry_run: res.dryRun });
  });

  r.on("DELETE", "/api/connections/:id/tags/:tag", async (_req, p, ctx) => {
    const cur = mustGetConfig(ctx, p.id!);
    if (!cur.tags.some((t) => t.tag_name === p.tag)) {
      throw new NodiError("not_found", `no tag "${p.tag}" in connection "${p.id}"`, "not_found");
    }
    const tags = cur.tags.filter((t) => t.tag_name !== p.tag);
    const res = await applyAndAnnounce(
      ctx,
      { put: [{ ...cur, tags }], dryRun: dry(ctx) },
      "tag.remove",
      dataTagPath(p.id!, p.tag!),
    );
    return json({ changes: res.changes, dry_run: res.dryRun });
  });
}

function withConn(row: unknown, connId: string): unknown {
  return row && typeof row === "object" ? { ...(row as object), conn_id: connId } : row;
}

/** Fields whose value differs, as `{ field: [before, after] }` (passwords masked). */
export function diffFields(before: object, after: object): Record<string, [unknown, unknown]> {
  const b = before as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  const out: Record<string, [unknown, unknown]> = {};
  for (const k of Object.keys(a)) {
    if (k in b && JSON.stringify(b[k] ?? null) !== JSON.stringify(a[k] ?? null)) {
      out[k] = k === "password" ? ["***", "***"] : [b[k] ?? null, a[k] ?? null];
    }
  }
  return out;
}

function redact(row: Record<string, unknown>): Record<string, unknown> {
  return row.password ? { ...row, password: "***" } : row;
}
