import type { Command } from "commander";
import { escapeControlChars } from "../../core/control-chars.ts";
import { NodiError } from "../../core/errors.ts";
import type { ConnectionConfig } from "../../store/schema.ts";
import { announce, describeChanges } from "../announce.ts";
import type { CliContext } from "../context.ts";
import { formatTable } from "../table.ts";

/**
 * `nodi-edge device list|add|rm`: the devices of a multi-device link (devices.csv,
 * docs/csv.md). `add` and `rm` replace the connection's device list in one transaction,
 * validated like an import (a device its blocks still name cannot be removed), and announce
 * the change (a hot reload of the connection).
 */
export function register(program: Command, ctx: CliContext): void {
  const device = program
    .command("device")
    .description("devices on a connection's link (unit ids behind one port or serial line)");

  device
    .command("list")
    .description("list the devices of every connection, or of one")
    .argument("[conn_id]")
    .action((connId: string | undefined) => {
      const store = ctx.openStore();
      try {
        const configs = connId
          ? [mustGet(store.getConnectionConfig(connId), connId)]
          : store.getAllConfigs();
        const rows = configs.flatMap((c) =>
          (c.devices ?? []).map((d) => ({
            ...d,
            blocks: c.blocks.filter((b) => b.device === d.device).length,
            tags: c.tags.filter((t) => t.tag_name.startsWith(`${d.device}/`)).length,
          })),
        );
        ctx.print(rows, () =>
          rows.length === 0
            ? "no devices (every connection is one device, its unit_id)"
            : formatTable(
                ["conn_id", "device", "unit_id", "profile", "blocks", "tags", "description"],
                rows.map((r) => [
                  r.conn_id,
                  r.device,
                  String(r.unit_id),
                  r.profile ?? "",
                  String(r.blocks),
                  String(r.tags),
                  escapeControlChars(r.description),
                ]),
              ),
        );
      } finally {
        store.close();
      }
    });

  device
    .command("add")
    .description(
      "add a device to a connection's link (or change its unit id), e.g. device add line1 meter3 --unit-id 3",
    )
    .argument("<conn_id>")
    .argument("<device>")
    .requiredOption("--unit-id <n>", "its Modbus unit id (0 = RTU broadcast, write-only)")
    .option("--description <text>", "description")
    .option(
      "--profile <name>",
      "an instance of this device profile: its blocks and tags come from the profile (nodi-edge profile list); --profile '' for none",
    )
    .action(
      async (
        connId: string,
        name: string,
        opts: { unitId: string; description?: string; profile?: string },
      ) => {
        const unit = Number(opts.unitId);
        await edit(ctx, connId, (cfg) => {
          const prev = (cfg.devices ?? []).find((d) => d.device === name);
          const profile =
            opts.profile === undefined ? (prev?.profile ?? null) : opts.profile || null;
          const row = {
            conn_id: connId,
            device: name,
            unit_id: opts.unitId.trim() === "" || !Number.isFinite(unit) ? opts.unitId : unit,
            description: opts.description ?? prev?.description ?? "",
            profile,
          };
          return [...(cfg.devices ?? []).filter((d) => d.device !== name), row];
        });
      },
    );

  device
    .command("rm")
    .description(
      "remove a device from a connection (its own blocks must be removed first; an instance of a profile goes with its profile's blocks and tags)",
    )
    .argument("<conn_id>")
    .argument("<device>")
    .action(async (connId: string, name: string) => {
      await edit(ctx, connId, (cfg) => {
        if (!(cfg.devices ?? []).some((d) => d.device === name))
          throw new NodiError("not_found", `no device "${name}" in connection "${connId}"`);
        return (cfg.devices ?? []).filter((d) => d.device !== name);
      });
    });
}

function mustGet(cfg: ConnectionConfig | undefined, connId: string): ConnectionConfig {
  if (!cfg) throw new NodiError("not_found", `no connection "${connId}"`);
  return cfg;
}

/** Replaces the devices of `connId` with what `change` returns, validated, then announces. */
async function edit(
  ctx: CliContext,
  connId: string,
  change: (cfg: ConnectionConfig) => unknown[],
): Promise<void> {
  const store = ctx.openStore();
  let changes: Awaited<ReturnType<typeof store.apply>>["changes"];
  try {
    const cfg = mustGet(store.getConnectionConfig(connId), connId);
    changes = store.apply({
      origin: "cli:device",
      put: [{ ...cfg, devices: change(cfg) }],
      audit: { identity: ctx.identity(), action: "device.put", recordedBy: "nodi-edge" },
    }).changes;
  } finally {
    store.close();
  }
  const a = await announce(ctx, changes);
  ctx.print({ ok: true, changes, ...a }, () => describeChanges(changes));
}
