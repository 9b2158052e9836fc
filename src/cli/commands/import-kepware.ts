import { readFileSync } from "node:fs";
import { NodiError } from "../../core/errors.ts";
import { EXIT } from "../../core/exit-codes.ts";
import { type RequestPlan, requestPlan } from "../../drivers/modbus/request-plan.ts";
import { formatLoadError, type LoadError } from "../../loader/csv-file.ts";
import { KEPWARE_DEFAULTS } from "../../loader/kepware/device-properties.ts";
import {
  importKepware,
  KEPWARE_ENCODINGS,
  type KepwareEncoding,
  type KepwareImportOptions,
  type KepwareImportResult,
} from "../../loader/kepware/import.ts";
import type { UnmappableRow } from "../../loader/kepware/map-file.ts";
import { announce, describeChanges } from "../announce.ts";
import type { CliContext } from "../context.ts";
import { CliExit } from "../exit.ts";
import { formatPlan } from "./conn-plan.ts";

/** The options of `nodi-edge import --kepware` as commander gives them. */
export interface KepwareCliOptions {
  kepware: string;
  conn?: string;
  device?: string;
  dryRun?: boolean;
  skipUnmappable?: boolean;
  scanMs?: string;
  encoding?: string;
  zeroBased?: boolean;
  zeroBasedBits?: boolean;
  modiconBitOrder?: boolean;
  modbusByteOrder?: boolean;
  firstWordLow?: boolean;
  firstDwordLow?: boolean;
}

/**
 * `nodi-edge import --kepware FILE.csv --conn ID [--device NAME] [--dry-run]
 * [--skip-unmappable]`: a KEPServerEX tag export into one Modbus connection as auto tags
 * (docs/csv.md, Kepware import). Prints what it imported (or would), the rows it cannot map
 * with their reasons, the warnings, and the connection's change; announces the change.
 * @throws CliExit 65 for bad input or unmappable rows (nothing changed); 64 for bad usage.
 */
export async function runKepwareImport(ctx: CliContext, o: KepwareCliOptions): Promise<void> {
  if (!o.conn) {
    throw new NodiError(
      "configuration",
      "--kepware needs --conn ID: the Modbus connection the tags go to",
      "usage",
    );
  }
  let scanMs: number | undefined;
  if (o.scanMs !== undefined) {
    scanMs = Number(o.scanMs);
    if (!/^\d+$/.test(o.scanMs) || scanMs < 1 || scanMs > 86_400_000) {
      throw new NodiError(
        "configuration",
        `--scan-ms must be a whole number of ms, 1–86400000, got "${o.scanMs}"`,
        "usage",
      );
    }
  }
  if (o.encoding !== undefined && !(KEPWARE_ENCODINGS as readonly string[]).includes(o.encoding)) {
    throw new NodiError(
      "configuration",
      `--encoding must be ${KEPWARE_ENCODINGS.join(" or ")}, got "${o.encoding}"`,
      "usage",
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(o.kepware);
  } catch {
    throw new NodiError("not_found", `no such file: ${o.kepware}`);
  }
  const opts: KepwareImportOptions = {
    connId: o.conn,
    ...(o.device !== undefined ? { device: o.device } : {}),
    ...(scanMs !== undefined ? { scanMs } : {}),
    ...(o.encoding !== undefined ? { encoding: o.encoding as KepwareEncoding } : {}),
    dryRun: o.dryRun ?? false,
    skipUnmappable: o.skipUnmappable ?? false,
    zeroBased: o.zeroBased ?? KEPWARE_DEFAULTS.zeroBased,
    zeroBasedBits: o.zeroBasedBits ?? KEPWARE_DEFAULTS.zeroBasedBits,
    modiconBitOrder: o.modiconBitOrder ?? KEPWARE_DEFAULTS.modiconBitOrder,
    modbusByteOrder: o.modbusByteOrder ?? KEPWARE_DEFAULTS.modbusByteOrder,
    firstWordLow: o.firstWordLow ?? KEPWARE_DEFAULTS.firstWordLow,
    firstDwordLow: o.firstDwordLow ?? KEPWARE_DEFAULTS.firstDwordLow,
    audit: { identity: ctx.identity(), recordedBy: "nodi-edge" },
  };
  const store = ctx.openStore();
  let result: KepwareImportResult;
  try {
    result = importKepware(store, { file: o.kepware, bytes }, opts);
  } catch (e) {
    if (e instanceof NodiError && e.kind === "configuration" && e.reason === "invalid_csv") {
      const errors = e.details.errors as LoadError[];
      if (ctx.json()) ctx.io.out(`${JSON.stringify({ ok: false, errors }, null, 2)}\n`);
      ctx.io.err(`nodi-edge import: refused, nothing was changed; ${errors.length} error(s):\n`);
      for (const err of errors) ctx.io.err(`${formatLoadError(err)}\n`);
      throw new CliExit(EXIT.DATA);
    }
    if (e instanceof NodiError && e.kind === "configuration" && e.reason === "unmappable") {
      const unmappable = e.details.unmappable as UnmappableRow[];
      if (ctx.json()) ctx.io.out(`${JSON.stringify({ ok: false, unmappable }, null, 2)}\n`);
      ctx.io.err(
        `nodi-edge import: refused, nothing was changed; ${unmappable.length} row(s) cannot be mapped (${String(e.details.tags)} can); run with --dry-run to see the whole import, or --skip-unmappable to import the others without these:\n`,
      );
      ctx.io.err(`${describeUnmappable(unmappable)}\n`);
      throw new CliExit(EXIT.DATA);
    }
    throw e;
  } finally {
    store.close();
  }
  const announcement = result.dryRun
    ? { published: 0, notified: false }
    : await announce(ctx, result);
  const { config, ...shown } = result;
  const plan = requestPlan(config);
  ctx.print({ ok: true, ...shown, plan, ...announcement }, () => describeResult(result, plan));
}

/** One line per reason: `file:line:col (Column): Tag: reason`. */
function describeUnmappable(rows: readonly UnmappableRow[]): string {
  return rows
    .flatMap((u) =>
      u.reasons.map((r) => `  ${formatLoadError({ ...r, message: `${u.name}: ${r.message}` })}`),
    )
    .join("\n");
}

/** The text report of an import (or dry run). */
export function describeResult(r: KepwareImportResult, plan: RequestPlan): string {
  const head = r.dryRun
    ? "dry run, nothing changed; the Kepware import would do:"
    : "imported from Kepware:";
  const out = [
    head,
    describeChanges(r.changes),
    `${r.tags.length} auto tag(s) from ${r.file} into ${r.conn_id}${r.device ? ` (device ${r.device})` : ""}${r.replaced.length > 0 ? `, ${r.replaced.length} replacing a tag of the same name` : ""}`,
  ];
  if (r.unmappable.length > 0) {
    out.push(
      `${r.unmappable.length} row(s) not imported (no equivalent here)${r.dryRun && !r.skipUnmappable ? "; without --skip-unmappable the import refuses them" : ""}:`,
      describeUnmappable(r.unmappable),
    );
  }
  if (r.warnings.length > 0) {
    out.push(
      `${r.warnings.length} warning(s):`,
      ...r.warnings.map((w) => `  ${formatLoadError(w)}`),
    );
  }
  // The connection's whole request plan (explicit blocks too), as `conn plan --static` prints it.
  out.push(r.dryRun ? "after the import:" : "now:", formatPlan(plan, "none"));
  return out.join("\n");
}
