import { NodiError } from "../../core/errors.ts";
import { profilesToExport, renderCsv } from "../../loader/export.ts";
import {
  CSV_KINDS,
  type CsvInput,
  type CsvKind,
  checkNewKind,
  importCsv,
  kindOfFile,
  requireConnections,
} from "../../loader/import.ts";
import { type Entity, FIELDS } from "../../store/fields.ts";
import { notifyChanges } from "../../store/notify.ts";
import type { Ctx } from "../app.ts";
import { recordWeb } from "../audit.ts";
import { HttpError, json, readBytes, readJson } from "../http.ts";
import type { Router } from "../router.ts";

/**
 * Reads the uploaded CSV files: `multipart/form-data` (each file part named by its file name,
 * e.g. `tags.csv`, or by a field name `connections` / `blocks` / `tags`), or JSON
 * `{ files: [{ name, text }] }`.
 */
async function readUploads(req: Request): Promise<CsvInput[]> {
  const type = (req.headers.get("content-type") ?? "").toLowerCase();
  const files: { field: string; name: string; bytes: Uint8Array }[] = [];
  if (type.startsWith("multipart/form-data")) {
    // Read with the size limit first: formData() would buffer a chunked upload of any size.
    const bytes = await readBytes(req);
    const form = await new Response(bytes, {
      headers: { "content-type": req.headers.get("content-type") ?? "" },
    }).formData();
    for (const [field, v] of form.entries()) {
      if (typeof v === "string") continue;
      files.push({ field, name: v.name || field, bytes: new Uint8Array(await v.arrayBuffer()) });
    }
  } else {
    const body = await readJson(req);
    if (!Array.isArray(body.files))
      throw new HttpError(400, "bad_request", "body must be { files: [{ name, text }] }");
    for (const f of body.files as { name?: unknown; text?: unknown }[]) {
      if (typeof f?.name !== "string" || typeof f.text !== "string") {
        throw new HttpError(400, "bad_request", "each file must be { name, text }");
      }
      files.push({ field: "", name: f.name, bytes: new TextEncoder().encode(f.text) });
    }
  }
  const inputs: CsvInput[] = [];
  for (const f of files) {
    const kind: CsvKind | undefined =
      kindOfFile(f.name) ??
      ((CSV_KINDS as readonly string[]).includes(f.field) ? (f.field as CsvKind) : undefined);
    if (!kind) {
      throw new NodiError(
        "configuration",
        `${f.name}: cannot tell the kind of this file; name it ${CSV_KINDS.map((k) => `${k}.csv`).join(", ")}`,
        "usage",
      );
    }
    checkNewKind(inputs, kind, f.name);
    inputs.push({ kind, file: f.name, bytes: f.bytes });
  }
  requireConnections(inputs);
  return inputs;
}

/** The entity of each CSV kind (for the header of an empty file). */
const ENTITY_OF_KIND: Record<CsvKind, Entity> = {
  connections: "connection",
  devices: "device",
  blocks: "block",
  tags: "tag",
  northbound: "northbound",
  profiles: "profile",
  profile_blocks: "profile_block",
  profile_tags: "profile_tag",
};

/**
 * `POST /api/import?dry_run=1&replace=1`: CSV import through the CSV loader (all or nothing;
 * errors by file, line, column, field), then the system tags of the committed changes.
 * `GET /api/export?file=connections|blocks|tags&conn=a,b`: one CSV file (attachment), or,
 * without `file`, all three as JSON `{ connections, blocks, tags }`.
 */
export function csvRoutes(r: Router<Ctx>): void {
  r.on("POST", "/api/import", async (req, _p, ctx) => {
    const q = ctx.url.searchParams;
    const dryRun = q.get("dry_run") === "1";
    const replace = q.get("replace") === "1";
    let inputs: CsvInput[] = [];
    try {
      inputs = await readUploads(req);
      const res = importCsv(ctx.deps.store, inputs, {
        dryRun,
        replace,
        origin: ctx.actor,
        audit: { identity: ctx.identity, action: "csv.import", recordedBy: "ne-web" },
      });
      if (!res.dryRun) await notifyChanges(ctx.deps.bus, res);
      return json({
        ok: true,
        dry_run: res.dryRun,
        counts: res.counts,
        changes: res.changes,
        north_changes: res.northChanges,
        profile_changes: res.profileChanges,
      });
    } catch (e) {
      if (!dryRun) {
        recordWeb(ctx, {
          action: "csv.import",
          ok: false,
          reason: (e as { reason?: string }).reason ?? "error",
          detail: { files: inputs.map((i) => i.file), error: (e as Error).message },
        });
      }
      throw e;
    }
  });

  r.on("GET", "/api/export", (_req, _p, ctx) => {
    const q = ctx.url.searchParams;
    const ids = (q.get("conn") ?? "").split(",").filter(Boolean);
    const all = ctx.deps.store.getAllStoredConfigs();
    const configs = ids.length
      ? ids.map((id) => {
          const c = all.find((x) => x.connection.conn_id === id);
          if (!c) throw new NodiError("not_found", `no connection "${id}"`, "not_found");
          return c;
        })
      : all;
    // northbound.csv (password withheld) only in a whole export, as `nodi-edge export`
    const files = renderCsv(
      configs,
      ids.length ? [] : ctx.deps.store.listNorthbounds(),
      profilesToExport(ctx.deps.store, configs, ids.length === 0),
    );
    const file = q.get("file");
    if (file === null) return json(files);
    if (!(CSV_KINDS as readonly string[]).includes(file)) {
      throw new HttpError(400, "bad_request", `file must be one of ${CSV_KINDS.join(", ")}`);
    }
    // devices.csv (or a profile file) of a configuration without any: the header alone
    const text =
      files[file as CsvKind] ??
      `${FIELDS[ENTITY_OF_KIND[file as CsvKind]].map((f) => f.name).join(",")}\n`;
    return new Response(text, {
      headers: {
        "content-type": "text/csv; charset=utf-8",
        "content-disposition": `attachment; filename="${file}.csv"`,
        "cache-control": "no-store",
      },
    });
  });
}
