import type { Command } from "commander";
import { escapeControlChars } from "../../core/control-chars.ts";
import { NodiError } from "../../core/errors.ts";
import { convertCell } from "../../loader/cells.ts";
import { withholdConfigSecrets, withholdConnectionSecrets } from "../../loader/export.ts";
import type { ConnChange } from "../../store/changes.ts";
import { FIELDS } from "../../store/fields.ts";
import { announce, describeChanges } from "../announce.ts";
import type { CliContext } from "../context.ts";
import { enableText } from "../enable-text.ts";
import { formatTable } from "../table.ts";
import { registerPlan } from "./conn-plan.ts";

const kebab = (s: string) => s.replace(/_/g, "-");
const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Builds connection fields from `--field value` options and `field=value` pairs (pairs win),
 * converting text the same way as a CSV cell (an empty value clears the field).
 * @throws NodiError `configuration` naming the field and what was expected.
 */
export function connectionFields(
  opts: Record<string, unknown>,
  pairs: readonly string[],
): Record<string, unknown> {
  const text = new Map<string, string>();
  for (const f of FIELDS.connection) {
    const val = opts[camel(f.name)];
    if (typeof val === "string") text.set(f.name, val);
  }
  const known = new Set(FIELDS.connection.map((f) => f.name));
  for (const p of pairs) {
    const eq = p.indexOf("=");
    const key = eq < 0 ? "" : p.slice(0, eq).trim();
    if (!known.has(key) || key === "conn_id") {
      throw new NodiError(
        "configuration",
        `expected field=value with a connection field (${[...known].filter((k) => k !== "conn_id").join(", ")}), got "${p}"`,
      );
    }
    text.set(key, p.slice(eq + 1).trim());
  }
  const out: Record<string, unknown> = {};
  const errors: string[] = [];
  for (const f of FIELDS.connection) {
    const t = text.get(f.name);
    if (t === undefined) continue;
    const c = convertCell({ ...f, required: false }, t);
    if ("error" in c) errors.push(`${f.name}: ${c.error}`);
    else out[f.name] = c.value === undefined ? null : c.value;
  }
  if (errors.length > 0) throw new NodiError("configuration", errors.join("; "));
  return out;
}

/**
 * Applies `edit` in one transaction, announces it and prints the changes (`text` overrides
 * the human output). `create` lets a missing database file be created (`conn add`).
 */
async function commit(
  ctx: CliContext,
  edit: Parameters<ReturnType<CliContext["openStore"]>["apply"]>[0],
  opts: { create?: boolean; text?: (changes: readonly ConnChange[]) => string } = {},
): Promise<void> {
  const store = ctx.openStore({ create: opts.create });
  let changes: ConnChange[];
  try {
    changes = store.apply({
      ...edit,
      audit: {
        identity: ctx.identity(),
        action: edit.remove ? "connection.remove" : "connection.put",
        recordedBy: "nodi-edge",
      },
    }).changes;
  } finally {
    store.close();
  }
  const a = await announce(ctx, changes);
  ctx.print({ ok: true, changes, ...a }, () => (opts.text ?? describeChanges)(changes));
}

/** `nodi-edge conn list|show|add|rm`. */
export function register(program: Command, ctx: CliContext): void {
  const conn = program.command("conn").description("connections (one interface app each)");

  conn
    .command("list")
    .description("list connections")
    .action(() => {
      const store = ctx.openStore();
      try {
        const rows = store.listConnections().map((c) => ({
          ...withholdConnectionSecrets(c),
          blocks: store.getBlocks(c.conn_id).length,
          tags: store.getTags(c.conn_id).length,
        }));
        ctx.print(rows, () =>
          rows.length === 0
            ? "no connections"
            : formatTable(
                ["conn_id", "protocol", "address", "enabled", "blocks", "tags", "description"],
                rows.map((r) => [
                  r.conn_id,
                  r.protocol,
                  r.protocol === "opcua"
                    ? (r.endpoint_url ?? "")
                    : r.protocol === "modbus-rtu"
                      ? `${r.serial_device} unit ${r.unit_id}`
                      : `${r.host}:${r.port} unit ${r.unit_id}`,
                  r.enabled ? "yes" : "no",
                  String(r.blocks),
                  String(r.tags),
                  r.description,
                ]),
              ),
        );
      } finally {
        store.close();
      }
    });

  conn
    .command("show")
    .description("show one connection with its blocks and tags")
    .argument("<conn_id>")
    .action((connId: string) => {
      const store = ctx.openStore();
      try {
        const stored = store.getConnectionConfig(connId);
        if (!stored) throw new NodiError("not_found", `no connection "${connId}"`);
        // Never a password (it is *withheld* when set; docs/security.md "Secrets").
        const cfg = withholdConfigSecrets(stored);
        ctx.print(cfg, () => {
          const c = cfg.connection as unknown as Record<string, unknown>;
          const lines = Object.entries(c)
            .filter(([, v]) => v !== null && v !== "")
            .map(([k, v]) => `${k}: ${escapeControlChars(String(v))}`); // one line per field
          const devices = cfg.devices ?? [];
          if (devices.length > 0) {
            lines.push("", `devices (${devices.length}):`);
            lines.push(
              formatTable(
                ["device", "unit_id", "profile", "description"],
                devices.map((d) => [
                  d.device,
                  String(d.unit_id),
                  d.profile ?? "",
                  escapeControlChars(d.description),
                ]),
              ),
            );
          }
          lines.push("", `blocks (${cfg.blocks.length}):`);
          if (cfg.blocks.length > 0) {
            const withDevice = devices.length > 0;
            lines.push(
              formatTable(
                [
                  "block_id",
                  ...(withDevice ? ["device"] : []),
                  "table",
                  "address",
                  "count",
                  "period_ms",
                  "enabled",
                ],
                cfg.blocks.map((b) => [
                  b.block_id,
                  ...(withDevice ? [b.device ?? `(unit ${cfg.connection.unit_id})`] : []),
                  b.table,
                  String(b.address),
                  String(b.count),
                  b.period_ms == null ? "on demand" : String(b.period_ms),
                  b.enabled ? "yes" : "no",
                ]),
              ),
            );
          }
          lines.push("", `tags (${cfg.tags.length}):`);
          if (cfg.tags.length > 0) {
            lines.push(
              formatTable(
                ["tag_name", "block_id", "address", "data_type", "access", "unit"],
                cfg.tags.map((t) => [
                  t.tag_name,
                  t.block_id ?? `(auto ${t.table} ${t.scan_ms} ms)`,
                  t.node_id ?? (t.bit == null ? String(t.address) : `${t.address}.${t.bit}`),
                  t.array_length == null ? t.data_type : `${t.data_type}[${t.array_length}]`,
                  t.access,
                  t.unit,
                ]),
              ),
            );
          }
          return lines.join("\n");
        });
      } finally {
        store.close();
      }
    });

  const add = conn
    .command("add")
    .description(
      "add a connection (or change one with --update), e.g. conn add plc2 protocol=modbus-tcp host=10.0.0.5 port=502 unit_id=1",
    )
    .argument("<conn_id>")
    .argument("[field=value...]", "connection fields, as in connections.csv")
    .option("--update", "change an existing connection (given fields only; blocks and tags kept)");
  for (const f of FIELDS.connection) {
    if (f.name === "conn_id") continue;
    const hint = f.options ? f.options.join("|") : f.kind;
    add.option(
      `--${kebab(f.name)} <${f.kind === "string" ? "text" : f.kind}>`,
      `${f.name} (${hint})`,
    );
  }
  add.action(async (connId: string, pairs: string[], opts: Record<string, unknown>) => {
    const fields = connectionFields(opts, pairs);
    const store = ctx.openStore({ create: !opts.update });
    let existing: Record<string, unknown> | undefined;
    try {
      existing = store.getConnection(connId) as Record<string, unknown> | undefined;
    } finally {
      store.close();
    }
    if (existing && !opts.update) {
      throw new NodiError(
        "configuration",
        `connection "${connId}" exists; use --update to change it`,
      );
    }
    if (!existing && opts.update) throw new NodiError("not_found", `no connection "${connId}"`);
    const row: Record<string, unknown> = { ...(existing ?? {}), ...fields, conn_id: connId };
    // Defaults (absent = schema default) rather than null for non-nullable fields.
    for (const f of FIELDS.connection) if (row[f.name] === null && !f.nullable) delete row[f.name];
    await commit(ctx, { origin: "cli:conn", putConnections: [row] }, { create: !opts.update });
  });

  conn
    .command("rm")
    .description("remove connections with their blocks and tags")
    .argument("<conn_ids...>")
    .action(async (connIds: string[]) => {
      await commit(ctx, { origin: "cli:conn", remove: connIds });
    });

  for (const [name, enabled] of [
    ["enable", true],
    ["disable", false],
  ] as const) {
    conn
      .command(name)
      .description(`${name} connections (a disabled connection has no running app)`)
      .argument("<conn_ids...>")
      .action(async (connIds: string[]) => {
        const store = ctx.openStore();
        let rows: Record<string, unknown>[];
        try {
          rows = connIds.map((id) => {
            const c = store.getConnection(id);
            if (!c) throw new NodiError("not_found", `no connection "${id}"`);
            return { ...c, enabled };
          });
        } finally {
          store.close();
        }
        await commit(
          ctx,
          { origin: "cli:conn", putConnections: rows },
          {
            text: (changes) =>
              enableText(
                changes.map((c) => ({ id: c.conn_id, same: c.stored === "same" })),
                enabled,
              ),
          },
        );
      });
  }
  registerPlan(conn, ctx);
}
