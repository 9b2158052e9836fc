import { existsSync } from "node:fs";
import type { Command } from "commander";
import { NodiError } from "../../core/errors.ts";
import { EXIT } from "../../core/exit-codes.ts";
import type { Identity } from "../../core/identity.ts";
import { matchesPattern, parseTagPath } from "../../core/paths.ts";
import type { TagData, TagScalar, TagValue } from "../../core/tag-value.ts";
import { DECIMAL_TEXT } from "../../core/write-value.ts";
import { AuditTrail } from "../../store/audit.ts";
import { openTagBus } from "../../tagbus/index.ts";
import type { BusEvent, TagBus, WriteResult } from "../../tagbus/tagbus.ts";
import { OUTCOME_UNKNOWN, OUTCOME_UNKNOWN_ADVICE } from "../../tagbus/tagbus.ts";
import { appStateOf, describeAppState, describeWriteTimeout } from "../../tagbus/write-timeout.ts";
import type { CliContext } from "../context.ts";
import { CliExit } from "../exit.ts";
import { redisUnreachable } from "../redis-unreachable.ts";
import { formatTable } from "../table.ts";
import { describeGap, describeLink, followLink, type LinkFollower } from "../watch-notes.ts";

/** Producer id of the CLI on the TagBus. */
const CLI_PRODUCER = "cli";

/**
 * A number for people: at most 7 significant digits (a float32 reading such as
 * 181.9350128173828 prints 181.935), but the integer part is never rounded (12345678.25 →
 * 12345678) and integers print whole. `--json` keeps the full value.
 */
export function displayNumber(v: number): string {
  const abs = Math.abs(v);
  if (!Number.isFinite(v) || (Number.isInteger(v) && abs < 1e21)) return String(v);
  const intDigits = abs >= 1 && abs < 1e21 ? Math.floor(Math.log10(abs)) + 1 : 0;
  return String(Number(v.toPrecision(Math.min(100, Math.max(7, intDigits)))));
}

/** A tag value for people: numbers by {@link displayNumber}, others as JSON (`"auto"`, `true`). */
export function displayValue(value: TagData): string {
  if (Array.isArray(value)) return `[${value.map((e) => displayValue(e)).join(", ")}]`;
  return typeof value === "number" ? displayNumber(value) : JSON.stringify(value);
}

/** One value as a text line: `/mtc-01/speed = 12.5 (good) 2026-…Z seq=3 producer=mtc-01`. */
export function formatValue(v: TagValue): string {
  const q = v.reason ? `${v.quality}: ${v.reason}` : v.quality;
  return `${v.path} = ${displayValue(v.value)} (${q}) ${new Date(v.ts).toISOString()} seq=${v.seq} producer=${v.producer}`;
}

/** One bus event as a text line (or lines, for a resync). */
export function formatEvent(e: BusEvent): string {
  switch (e.kind) {
    case "value":
      return formatValue(e.value);
    case "gap":
      return describeGap(e);
    case "resync":
      return [`# resync: ${e.values.length} current values`, ...e.values.map(formatValue)].join(
        "\n",
      );
  }
}

/**
 * Parses a VALUE argument of `tag write`: `true`/`false` → boolean, a plain decimal number
 * (`DECIMAL_TEXT` of src/core/write-value.ts: `12`, `-0.5`, `+3`, `1e3`) → number, a JSON
 * string in quotes → that string, anything else → the text itself (which the owning app's
 * driver refuses for a numeric tag: `0x10`, ` 7 `, `NaN` are never read as numbers). With
 * `asString`, always the text.
 */
export function parseWriteValue(text: string, asString = false): TagScalar {
  if (asString) return text;
  if (text === "true") return true;
  if (text === "false") return false;
  if (DECIMAL_TEXT.test(text)) {
    const n = Number(text);
    if (Number.isFinite(n)) return n;
  }
  if (text.startsWith('"') && text.endsWith('"') && text.length >= 2) {
    try {
      return JSON.parse(text) as string;
    } catch {
      return text;
    }
  }
  return text;
}

/** Exit code of a failed write, by reason. */
function writeExit(reason: string): number {
  if (reason === OUTCOME_UNKNOWN) return EXIT.WRITE_OUTCOME_UNKNOWN;
  if (reason === "timeout" || reason === "disconnected") return EXIT.UNAVAILABLE;
  return EXIT.DATA;
}

/**
 * Checks a write's target in the source of truth before anything goes on the bus, so that a
 * mistyped path is answered at once instead of after the whole timeout: the connection and
 * its tag must exist, and the tag must be `read-write` (the web API checks the same).
 * Skipped when there is no database file at `NE_DB`/`--db` (a CLI on another machine than
 * the SoT): the write is then queued as before and the app answers, or the timeout does.
 * @throws NodiError `not_found` (exit 66) `no such tag PATH: …`, `read_only` (exit 65).
 */
function checkWriteTarget(ctx: CliContext, path: string): void {
  const p = parseTagPath(path);
  const db = ctx.settings().db;
  if (p?.kind !== "data" || db === ":memory:" || !existsSync(db)) return;
  const store = ctx.openStore();
  try {
    const conn = store.getConnection(p.connId);
    if (!conn) {
      throw new NodiError(
        "not_found",
        `no such tag ${path}: there is no connection ${p.connId} in ${db} (nodi-edge conn list)`,
        "not_found",
        { path },
      );
    }
    const tag = store.getTags(p.connId).find((t) => t.tag_name === p.tagName);
    if (!tag) {
      throw new NodiError(
        "not_found",
        `no such tag ${path}: connection ${p.connId} has no tag ${p.tagName} (nodi-edge conn show ${p.connId} lists its tags)`,
        "not_found",
        { path },
      );
    }
    if (tag.access !== "read-write") {
      throw new NodiError(
        "read_only",
        `${path} is read-only (access: ${tag.access}); nothing was written`,
        "read_only",
        { path },
      );
    }
  } finally {
    store.close();
  }
}

/**
 * Records a write the CLI refused before sending, or that no app answered, in the audit trail
 * of the database at `NE_DB`/`--db`, when there is one and this user may write it; otherwise a
 * note on stderr says it was not recorded (the write's outcome is printed either way).
 */
function recordCliWrite(
  ctx: CliContext,
  identity: Identity,
  path: string,
  value: TagScalar,
  r: WriteResult & { ok: false },
): void {
  const db = ctx.settings().db;
  if (db === ":memory:" || !existsSync(db)) return;
  try {
    const store = ctx.openStore();
    try {
      new AuditTrail(store.db, "nodi-edge").record({
        kind: "write",
        identity,
        action: "tag.write",
        target: path,
        value,
        result: r.reason === OUTCOME_UNKNOWN ? "outcome_unknown" : "refused",
        reason: r.reason,
        detail: r.message ? { message: r.message } : {},
      });
    } finally {
      store.close();
    }
  } catch (e) {
    ctx.io.err(`note: not recorded in the audit trail: ${(e as Error).message}\n`);
  }
}

async function withBus<T>(ctx: CliContext, fn: (bus: TagBus) => Promise<T>): Promise<T> {
  const bus = await openTagBus(ctx.settings(), CLI_PRODUCER);
  try {
    if (!bus.stats().connected) {
      throw redisUnreachable(ctx.settings().redisUrl);
    }
    return await fn(bus);
  } finally {
    await bus.close(1000);
  }
}

/**
 * The current values under `arg`: a path prefix, or a subscription pattern when it holds a
 * `*` (core/paths.ts `matchesPattern`: `*` within one segment, so `/line/*\/voltage` is every
 * device's `voltage` on a multi-device link), listed from the literal part before the first
 * `*` and filtered by the pattern.
 */
async function listMatching(
  bus: { list(prefix: string): Promise<TagValue[]> },
  arg: string,
): Promise<TagValue[]> {
  const star = arg.indexOf("*");
  if (star < 0) return bus.list(arg);
  const literal = arg.slice(0, arg.lastIndexOf("/", star) + 1);
  return (await bus.list(literal)).filter((v) => matchesPattern(arg, v.path));
}

/** `nodi-edge tag get|list|watch|write`: read, follow and write tag values on the TagBus. */
export function register(program: Command, ctx: CliContext): void {
  const tag = program.command("tag").description("tag values on the TagBus (Redis)");

  tag
    .command("get")
    .description("print the current value of one tag")
    .argument("<path>", "tag path, e.g. /mtc-01/speed")
    .action(async (path: string) => {
      await withBus(ctx, async (bus) => {
        const v = await bus.get(path);
        if (!v) throw new NodiError("not_found", `${path}: no value on the bus`, "not_found");
        ctx.print(v, () => formatValue(v));
      });
    });

  tag
    .command("list")
    .description(
      "print the current values of every tag under a prefix, or matching a pattern (with *)",
    )
    .argument(
      "[prefix]",
      "path prefix, e.g. /mtc-01/, or a pattern, e.g. '/rtu-line/*/voltage' (* = one segment; a trailing /* everything below)",
      "/",
    )
    .action(async (prefix: string) => {
      await withBus(ctx, async (bus) => {
        const values = await listMatching(bus, prefix);
        ctx.print(values, () =>
          values.length === 0
            ? `no values under ${prefix}`
            : formatTable(
                ["path", "value", "quality", "ts", "seq", "producer"],
                values.map((v) => [
                  v.path,
                  displayValue(v.value),
                  v.reason ? `${v.quality}: ${v.reason}` : v.quality,
                  new Date(v.ts).toISOString(),
                  String(v.seq),
                  v.producer,
                ]),
              ),
        );
      });
    });

  tag
    .command("watch")
    .description("print every update of matching tags, live (Ctrl-C stops)")
    .argument("<patterns...>", "patterns, e.g. /mtc-01/* /system/*/state")
    .option("--json", "one JSON object per line")
    .option("--count <n>", "stop after n value updates")
    .option("--durable <name>", "resume from this subscriber's last position")
    .action(
      async (patterns: string[], opts: { json?: boolean; count?: string; durable?: string }) => {
        const json = opts.json === true || ctx.json();
        const limit = opts.count === undefined ? Number.POSITIVE_INFINITY : Number(opts.count);
        if (!(limit > 0))
          throw new NodiError(
            "configuration",
            `--count must be a positive number (got ${opts.count})`,
          );
        await withBus(ctx, async (bus) => {
          let seen = 0;
          let stop!: () => void;
          const stopped = new Promise<void>((r) => {
            stop = r;
          });
          let link: LinkFollower | undefined;
          const sub = await bus.subscribe(
            patterns,
            (e) => {
              link?.seen();
              if (seen >= limit) return;
              ctx.io.out(`${json ? JSON.stringify(e) : formatEvent(e)}\n`);
              if (e.kind === "value" && ++seen >= limit) stop();
            },
            opts.durable ? { durable: opts.durable } : {},
          );
          // an outage is shown, not waited out in silence: the subscription resumes by itself
          link = followLink(bus, ctx.settings().redisUrl, (e) =>
            ctx.io.out(`${json ? JSON.stringify(e) : describeLink(e)}\n`),
          );
          const onSignal = () => stop();
          process.once("SIGINT", onSignal);
          process.once("SIGTERM", onSignal);
          try {
            await stopped;
          } finally {
            link.stop();
            process.off("SIGINT", onSignal);
            process.off("SIGTERM", onSignal);
            await sub.close();
          }
        });
      },
    );

  tag
    .command("write")
    .description("write a value to a tag through its interface app and print the result")
    .argument("<path>", "data tag path, e.g. /mtc-01/setpoint")
    .argument("<value>", "true, false, a number, or text")
    .option("--string", "send VALUE as text even if it looks like a number or boolean")
    .option("--timeout-ms <ms>", "how long to wait for the result", "5000")
    .option(
      "--origin <label>",
      "a label for the audit trail, shown beside who you are (the Unix user); not an identity",
    )
    .action(
      async (
        path: string,
        text: string,
        opts: { string?: boolean; timeoutMs: string; origin?: string },
      ) => {
        const timeoutMs = Number(opts.timeoutMs);
        if (!(timeoutMs > 0)) {
          throw new NodiError(
            "configuration",
            `--timeout-ms must be a positive number (got ${opts.timeoutMs})`,
          );
        }
        const value = parseWriteValue(text, opts.string === true);
        const identity = ctx.identity(opts.origin);
        try {
          checkWriteTarget(ctx, path);
        } catch (e) {
          const reason = (e as { reason?: string }).reason ?? "refused";
          recordCliWrite(ctx, identity, path, value, { ok: false, reason, writerSide: true });
          throw e;
        }
        const r = await withBus(ctx, async (bus) => {
          // A note before waiting when the owner app is not in EXECUTE; the write stays
          // queued and is still delivered if the app starts within the timeout.
          const info = await appStateOf(bus, path).catch(() => undefined);
          const note = info && describeAppState(info);
          if (note) ctx.io.err(`note: ${note}; waiting up to ${timeoutMs} ms\n`);
          const res = await bus.write(path, value, { timeoutMs, identity });
          if (!res.ok && res.reason === "timeout" && res.message?.startsWith("no result")) {
            return { ...res, message: await describeWriteTimeout(bus, path, timeoutMs) };
          }
          return res;
        });
        // the owning app records what it answered; what no app answered, the CLI records
        if (!r.ok && r.writerSide) recordCliWrite(ctx, identity, path, value, r);
        ctx.print({ path, value, ...r }, () =>
          r.ok
            ? `${path} ← ${JSON.stringify(value)}: done`
            : r.reason === OUTCOME_UNKNOWN
              ? `${path} ← ${JSON.stringify(value)}: outcome unknown: ${r.message ?? OUTCOME_UNKNOWN_ADVICE}`
              : r.reason === "timeout" && r.message?.startsWith("timeout:")
                ? `${path} ← ${JSON.stringify(value)}: failed: ${r.message}`
                : `${path} ← ${JSON.stringify(value)}: failed: ${r.reason}${r.message ? ` (${r.message})` : ""}`,
        );
        if (!r.ok) throw new CliExit(writeExit(r.reason));
      },
    );
}
