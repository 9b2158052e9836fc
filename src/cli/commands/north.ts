import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { NodiError } from "../../core/errors.ts";
import { convertCell } from "../../loader/cells.ts";
import { withholdSecrets } from "../../loader/export.ts";
import { tlsFileProblems } from "../../north/tls-files.ts";
import type { ConfigEdit } from "../../store/apply.ts";
import { FIELDS } from "../../store/fields.ts";
import type { NorthChange } from "../../store/north-changes.ts";
import { type Northbound, splitList } from "../../store/northbound-schema.ts";
import { announce } from "../announce.ts";
import type { CliContext } from "../context.ts";
import { enableText } from "../enable-text.ts";
import { formatTable } from "../table.ts";

const kebab = (s: string) => s.replace(/_/g, "-");
const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Builds northbound fields from `--field value` options and `field=value` pairs (pairs win),
 * converting text as a northbound.csv cell (an empty value clears the field), and the
 * password from `--password-file` (its first line).
 * @throws NodiError `configuration` naming the field and what was expected.
 */
export function northFields(
  opts: Record<string, unknown>,
  pairs: readonly string[],
): Record<string, unknown> {
  const text = new Map<string, string>();
  for (const f of FIELDS.northbound) {
    const val = opts[camel(f.name)];
    if (typeof val === "string") text.set(f.name, val);
  }
  const known = new Set(FIELDS.northbound.map((f) => f.name).filter((n) => n !== "north_id"));
  for (const p of pairs) {
    const eq = p.indexOf("=");
    const key = eq < 0 ? "" : p.slice(0, eq).trim();
    if (!known.has(key)) {
      // the pair may hold a password: never echo it whole
      throw new NodiError(
        "configuration",
        `expected field=value with a northbound field (${[...known].join(", ")}), got "${key || p.slice(0, 20)}${eq < 0 ? "" : "=…"}"`,
      );
    }
    text.set(key, p.slice(eq + 1).trim());
  }
  if (typeof opts.passwordFile === "string") {
    let pw: string;
    try {
      pw = readFileSync(opts.passwordFile, "utf8").split(/\r?\n/)[0] ?? "";
    } catch (e) {
      throw new NodiError(
        "not_found",
        `cannot read --password-file ${opts.passwordFile}: ${(e as Error).message}`,
      );
    }
    text.set("password", pw);
  }
  const out: Record<string, unknown> = {};
  const errors: string[] = [];
  for (const f of FIELDS.northbound) {
    const t = text.get(f.name);
    if (t === undefined) continue;
    const c = convertCell({ ...f, required: false }, t);
    if ("error" in c) errors.push(`${f.name}: ${c.error}`);
    else out[f.name] = c.value === undefined ? null : c.value;
  }
  if (errors.length > 0) throw new NodiError("configuration", errors.join("; "));
  return out;
}

/** One line per northbound change, e.g. `cloud  northbound added (created)`. */
export function describeNorthChanges(changes: readonly NorthChange[]): string {
  if (changes.length === 0) return "no northbounds touched";
  const w = Math.max(...changes.map((c) => c.north_id.length));
  return changes.map((c) => `${c.north_id.padEnd(w)}  ${c.kind} (${c.stored})`).join("\n");
}

async function commit(
  ctx: CliContext,
  edit: ConfigEdit,
  opts: { create?: boolean; text?: (changes: readonly NorthChange[]) => string } = {},
): Promise<void> {
  const store = ctx.openStore({ create: opts.create });
  let result: ReturnType<typeof store.apply>;
  const warnings: string[] = [];
  try {
    result = store.apply({
      ...edit,
      audit: {
        identity: ctx.identity(),
        action: edit.removeNorthbounds ? "northbound.remove" : "northbound.put",
        recordedBy: "nodi-edge",
      },
    });
    // TLS files may be deployed later, so they are not refused here; but say it now, not
    // only when ne-north refuses to start (exit 78)
    for (const c of result.northChanges) {
      const row = store.getNorthbound(c.north_id);
      for (const p of row ? tlsFileProblems(row) : [])
        warnings.push(
          `warning: northbound ${c.north_id}: ${p}; ne-north will not start until it is fixed (exit 78)`,
        );
    }
  } finally {
    store.close();
  }
  for (const w of warnings) ctx.io.err(`${w}\n`);
  const a = await announce(ctx, result);
  const changes = result.northChanges;
  ctx.print({ ok: true, changes, ...a }, () => (opts.text ?? describeNorthChanges)(changes));
}

/**
 * Fields of plain MQTT only (docs/csv.md "northbound.csv"): a Sparkplug northbound stores their
 * defaults but never uses them (its data is QoS 0 on Sparkplug topics, docs/north.md),
 * so `show` does not print `qos: 1` for it.
 */
const MQTT_ONLY_FIELDS: ReadonlySet<string> = new Set([
  "topic_template",
  "qos",
  "retain",
  "payload_layout",
]);

/** The fields `show` prints: set ones that apply to its kind, the password withheld. */
function shownFields(n: Northbound): [string, string][] {
  return Object.entries(withholdSecrets(n) as unknown as Record<string, unknown>)
    .filter(([, v]) => v !== null && v !== "")
    .filter(([k]) => n.kind === "mqtt" || !MQTT_ONLY_FIELDS.has(k))
    .map(([k, v]) => [k, String(v)]);
}

/** `nodi-edge north list|show|add|rm|enable|disable`: northbound targets (one ne-north each). */
export function register(program: Command, ctx: CliContext): void {
  const north = program
    .command("north")
    .description("northbound targets: MQTT brokers, plain or Sparkplug B (one ne-north app each)");

  north
    .command("list")
    .description("list northbounds (passwords withheld)")
    .action(() => {
      const store = ctx.openStore();
      try {
        const rows = store.listNorthbounds().map(withholdSecrets);
        ctx.print(rows, () =>
          rows.length === 0
            ? "no northbounds"
            : formatTable(
                ["north_id", "kind", "brokers", "tags", "enabled", "description"],
                rows.map((r) => [
                  r.north_id,
                  r.kind === "sparkplug" ? `sparkplug ${r.group_id}` : r.kind,
                  splitList(r.broker_urls).join(" "),
                  r.tag_selection,
                  r.enabled ? "yes" : "no",
                  r.description,
                ]),
              ),
        );
      } finally {
        store.close();
      }
    });

  north
    .command("show")
    .description("show one northbound (the password is withheld)")
    .argument("<north_id>")
    .action((northId: string) => {
      const store = ctx.openStore();
      try {
        const n = store.getNorthbound(northId);
        if (!n) throw new NodiError("not_found", `no northbound "${northId}"`);
        ctx.print(withholdSecrets(n), () =>
          shownFields(n)
            .map(([k, v]) => `${k}: ${v}`)
            .join("\n"),
        );
      } finally {
        store.close();
      }
    });

  const add = north
    .command("add")
    .description(
      "add a northbound (or change one with --update), e.g. north add cloud kind=mqtt broker_urls=mqtt://10.0.0.5:1883",
    )
    .argument("<north_id>")
    .argument("[field=value...]", "northbound fields, as in northbound.csv")
    .option("--update", "change an existing northbound (given fields only)")
    .option(
      "--password-file <path>",
      "read the password from the first line of this file (a password=… argument is visible to other users in ps)",
    );
  for (const f of FIELDS.northbound) {
    if (f.name === "north_id") continue;
    const hint = f.options ? f.options.join("|") : f.kind;
    add.option(
      `--${kebab(f.name)} <${f.kind === "string" ? "text" : f.kind}>`,
      `${f.name} (${hint})`,
    );
  }
  add.action(async (northId: string, pairs: string[], opts: Record<string, unknown>) => {
    const fields = northFields(opts, pairs);
    const store = ctx.openStore({ create: !opts.update });
    let existing: Northbound | undefined;
    try {
      existing = store.getNorthbound(northId);
    } finally {
      store.close();
    }
    if (existing && !opts.update) {
      throw new NodiError(
        "configuration",
        `northbound "${northId}" exists; use --update to change it`,
      );
    }
    if (!existing && opts.update) throw new NodiError("not_found", `no northbound "${northId}"`);
    const row: Record<string, unknown> = { ...(existing ?? {}), ...fields, north_id: northId };
    for (const f of FIELDS.northbound) {
      if (row[f.name] === null && !f.nullable) delete row[f.name];
    }
    await commit(ctx, { origin: "cli:north", putNorthbounds: [row] }, { create: !opts.update });
  });

  north
    .command("rm")
    .description("remove northbounds")
    .argument("<north_ids...>")
    .action(async (ids: string[]) => {
      await commit(ctx, { origin: "cli:north", removeNorthbounds: ids });
    });

  for (const [name, enabled] of [
    ["enable", true],
    ["disable", false],
  ] as const) {
    north
      .command(name)
      .description(`${name} northbounds (a disabled northbound has no running app)`)
      .argument("<north_ids...>")
      .action(async (ids: string[]) => {
        const store = ctx.openStore();
        let rows: Northbound[];
        try {
          rows = ids.map((id) => {
            const n = store.getNorthbound(id);
            if (!n) throw new NodiError("not_found", `no northbound "${id}"`);
            return { ...n, enabled };
          });
        } finally {
          store.close();
        }
        await commit(
          ctx,
          { origin: "cli:north", putNorthbounds: rows },
          {
            text: (changes) =>
              enableText(
                changes.map((c) => ({ id: c.north_id, same: c.stored === "same" })),
                enabled,
              ),
          },
        );
      });
  }
}
