import type { Command } from "commander";
import { NodiError } from "../../core/errors.ts";
import {
  AUDIT_RESULTS,
  type AuditEntry,
  type AuditFilter,
  type AuditResult,
  AuditTrail,
} from "../../store/audit.ts";
import {
  AUDIT_KINDS,
  type AuditKind,
  checkSetting,
  listSettings,
  setSetting,
} from "../../store/settings.ts";
import type { CliContext } from "../context.ts";
import { formatTable } from "../table.ts";

const UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A time of `--since`/`--until`: an ISO 8601 time (`2026-12-01T08:00Z`, `2026-12-01`), ms since
 * the epoch, or a duration before `now` (`30m`, `2h`, `7d`, `45s`).
 * @throws NodiError `configuration` naming the option and the accepted forms.
 */
export function parseTime(option: string, text: string, now = Date.now()): number {
  const rel = /^(\d+)([smhd])$/.exec(text);
  if (rel) return now - Number(rel[1]) * UNITS_MS[rel[2]!]!;
  if (/^\d{10,}$/.test(text)) return Number(text);
  const t = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isFinite(t)) return t;
  throw new NodiError(
    "configuration",
    `${option}: expected an ISO 8601 time (2026-12-01T08:00Z), ms since the epoch, or a duration (30m, 2h, 7d), got "${text}"`,
    "usage",
  );
}

function oneOf<T extends string>(option: string, allowed: readonly T[], v: string): T {
  if (!(allowed as readonly string[]).includes(v)) {
    throw new NodiError(
      "configuration",
      `${option}: expected one of ${allowed.join(", ")}, got "${v}"`,
      "usage",
    );
  }
  return v as T;
}

const json = (v: unknown): string => (v === null || v === undefined ? "" : JSON.stringify(v));

/**
 * One entry's result for people: `done`, `refused: read_only`, `outcome_unknown: …`; a reason
 * that only repeats the result (an unanswered write's `outcome_unknown`) is not shown twice.
 */
function resultText(e: AuditEntry): string {
  return e.reason && e.reason !== e.result ? `${e.result}: ${e.reason}` : e.result;
}

/** `nodi-edge audit [filters]` and `nodi-edge audit settings|prune`: the one audit trail. */
export function register(program: Command, ctx: CliContext): void {
  const audit = program
    .command("audit")
    .description(
      "show the audit trail: tag writes, configuration changes, logins, users and tokens (newest first)",
    )
    .option("--since <time>", "entries since: ISO time, ms since the epoch, or 30m, 2h, 7d ago")
    .option("--until <time>", "entries before this time (same forms)")
    .option("--who <actor>", "one caller: web:alice, api:deploy, cli:root, north:n1, or the name")
    .option("--tag <path>", "one target: a tag path, or a conn_id (its tags too)")
    .option("--result <r>", `one result: ${AUDIT_RESULTS.join(", ")}`)
    .option("--kind <k>", `one kind: ${AUDIT_KINDS.join(", ")}`)
    .option("--action <a>", "one action, e.g. tag.write, csv.import, login")
    .option("--limit <n>", "at most this many entries", "100")
    .option("--json", "one JSON array of entries")
    .action((o: Record<string, string | boolean | undefined>) => {
      const f: AuditFilter = {};
      const now = Date.now();
      if (typeof o.since === "string") f.since = parseTime("--since", o.since, now);
      if (typeof o.until === "string") f.until = parseTime("--until", o.until, now);
      if (typeof o.who === "string") f.who = o.who;
      if (typeof o.tag === "string") f.target = o.tag;
      if (typeof o.action === "string") f.action = o.action;
      if (typeof o.result === "string")
        f.result = oneOf<AuditResult>("--result", AUDIT_RESULTS, o.result);
      if (typeof o.kind === "string") f.kind = oneOf<AuditKind>("--kind", AUDIT_KINDS, o.kind);
      const limit = Number(o.limit);
      if (!(Number.isInteger(limit) && limit > 0 && limit <= 10_000)) {
        throw new NodiError(
          "configuration",
          `--limit: expected an integer from 1 to 10000, got "${o.limit}"`,
          "usage",
        );
      }
      f.limit = limit;
      const store = ctx.openStore();
      let entries: AuditEntry[];
      try {
        entries = new AuditTrail(store.db, "nodi-edge").list(f);
      } finally {
        store.close();
      }
      if (o.json === true || ctx.json()) {
        ctx.io.out(`${JSON.stringify(entries, null, 2)}\n`);
        return;
      }
      ctx.io.out(
        `${
          entries.length === 0
            ? "no audit entries match"
            : formatTable(
                ["time", "kind", "who", "from", "action", "target", "value", "previous", "result"],
                entries.map((e) => [
                  new Date(e.ts).toISOString(),
                  e.kind,
                  e.label ? `${e.actor} (${e.label})` : e.actor,
                  e.source,
                  e.action,
                  e.target,
                  json(e.value),
                  json(e.previous),
                  resultText(e),
                ]),
              )
        }\n`,
      );
    });

  audit
    .command("settings")
    .description(
      "show the retention of each kind of entry, or change one (e.g. audit settings audit.write.retention_days 730)",
    )
    .argument("[key]", "a setting, e.g. audit.access.max_entries")
    .argument("[value]", "its new value (an integer)")
    .action((key: string | undefined, value: string | undefined) => {
      const store = ctx.openStore();
      try {
        if (key !== undefined) {
          if (value === undefined) {
            throw new NodiError(
              "configuration",
              `audit settings ${key}: give the new value`,
              "usage",
            );
          }
          const n = checkSetting(key, value);
          const identity = ctx.identity();
          store.db.transaction(() => {
            const before = setSetting(store.db, key, n, `cli:${identity.who}`);
            new AuditTrail(store.db, "nodi-edge").record({
              kind: "admin",
              identity,
              action: "setting.set",
              target: key,
              value: n,
              previous: before,
              result: "done",
            });
          })();
        }
        const all = listSettings(store.db);
        ctx.print(all, () =>
          formatTable(
            ["setting", "value", "unit", "meaning"],
            all.map((s) => [
              s.key,
              `${s.value}${s.isDefault ? " (default)" : ""}`,
              s.unit,
              s.description,
            ]),
          ),
        );
      } finally {
        store.close();
      }
    });

  audit
    .command("prune")
    .description("drop entries past their kind's retention or cap now (recorders also do it)")
    .action(() => {
      const store = ctx.openStore();
      try {
        const dropped = new AuditTrail(store.db, "nodi-edge").prune();
        ctx.print({ dropped }, () => `dropped ${dropped} entries`);
      } finally {
        store.close();
      }
    });
}
