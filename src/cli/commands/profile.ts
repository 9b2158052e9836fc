import { existsSync } from "node:fs";
import type { Command } from "commander";
import { escapeControlChars } from "../../core/control-chars.ts";
import { isNodiError, NodiError } from "../../core/errors.ts";
import { EXIT } from "../../core/exit-codes.ts";
import { formatLoadError, type LoadError } from "../../loader/csv-file.ts";
import { importCsv, PROFILE_KINDS, readInputs } from "../../loader/import.ts";
import type { EditResult } from "../../store/apply.ts";
import type { ProfileConfig } from "../../store/schema.ts";
import { openStore, type Store } from "../../store/store.ts";
import { announce, describeChanges } from "../announce.ts";
import type { CliContext } from "../context.ts";
import { CliExit } from "../exit.ts";
import { formatTable } from "../table.ts";

/** Every device that is an instance of `name`: `{conn_id, device, unit_id}`. */
function instancesOf(store: Store, name: string) {
  return store
    .getAllStoredConfigs()
    .flatMap((c) => (c.devices ?? []).filter((d) => d.profile === name))
    .map((d) => ({ conn_id: d.conn_id, device: d.device, unit_id: d.unit_id }));
}

function mustGet(store: Store, name: string): ProfileConfig {
  const p = store.getProfile(name);
  if (!p) throw new NodiError("not_found", `no profile "${name}" (nodi-edge profile list)`);
  return p;
}

/** The lines telling what an edit did to profiles and connections. */
function describe(r: Pick<EditResult, "changes" | "profileChanges">): string {
  const profiles = r.profileChanges.map((c) => `profile ${c.profile}  ${c.stored}`);
  return [...profiles, describeChanges(r.changes)].join("\n");
}

/**
 * `nodi-edge profile list|show|add|remove`: device profiles (issue 14, docs/csv.md
 * "Device profiles"). A profile is added (or replaced) from its CSV files, all or nothing;
 * every connection with an instance of a changed profile is hot-reloaded (announced). A
 * device becomes an instance with `nodi-edge device add CONN DEVICE --unit-id N --profile P`.
 */
export function register(program: Command, ctx: CliContext): void {
  const profile = program
    .command("profile")
    .description(
      "device profiles: a device type (its blocks and tags) defined once, instances on connections",
    );

  profile
    .command("list")
    .description("list the profiles with their blocks, tags and instances")
    .action(() => {
      const store = ctx.openStore();
      try {
        const rows = store.listProfiles().map((p) => ({
          profile: p.profile.profile,
          address_base: p.profile.address_base,
          blocks: p.blocks.length,
          tags: p.tags.length,
          instances: instancesOf(store, p.profile.profile).length,
          description: p.profile.description,
        }));
        ctx.print(rows, () =>
          rows.length === 0
            ? "no profiles (add one: nodi-edge profile add DIR, e.g. /usr/share/nodi-edge/profiles/eastron-sdm630)"
            : formatTable(
                ["profile", "blocks", "tags", "instances", "description"],
                rows.map((r) => [
                  r.profile,
                  String(r.blocks),
                  String(r.tags),
                  String(r.instances),
                  escapeControlChars(r.description.split("\n")[0] ?? ""),
                ]),
              ),
        );
      } finally {
        store.close();
      }
    });

  profile
    .command("show")
    .description("show one profile: its blocks, tags and the devices that are instances of it")
    .argument("<profile>")
    .action((name: string) => {
      const store = ctx.openStore();
      try {
        const p = mustGet(store, name);
        const instances = instancesOf(store, name);
        ctx.print({ ...p, instances }, () => {
          const lines = [
            `profile: ${p.profile.profile}`,
            `address_base: ${p.profile.address_base}`,
            ...(p.profile.description
              ? [`description: ${escapeControlChars(p.profile.description)}`]
              : []),
            "",
            `blocks (${p.blocks.length}):`,
            formatTable(
              ["block_id", "table", "address", "count", "period_ms", "description"],
              p.blocks.map((b) => [
                b.block_id,
                b.table,
                String(b.address),
                String(b.count),
                b.period_ms === null ? "on demand" : String(b.period_ms),
                b.description,
              ]),
            ),
            "",
            `tags (${p.tags.length}):`,
            formatTable(
              [
                "tag_name",
                "block_id",
                "address",
                "data_type",
                "byte_order",
                "scale",
                "unit",
                "access",
              ],
              p.tags.map((t) => [
                t.tag_name,
                t.block_id ?? `(auto ${(t as { table?: string | null }).table ?? ""})`,
                String(t.address),
                t.data_type,
                t.byte_order,
                String(t.scale),
                t.unit,
                t.access,
              ]),
            ),
            "",
            instances.length === 0
              ? "instances: none (nodi-edge device add CONN DEVICE --unit-id N --profile NAME)"
              : `instances (${instances.length}):\n${formatTable(
                  ["conn_id", "device", "unit_id"],
                  instances.map((i) => [i.conn_id, i.device, String(i.unit_id)]),
                )}`,
          ];
          return lines.join("\n");
        });
      } finally {
        store.close();
      }
    });

  profile
    .command("add")
    .description(
      "add or replace profiles from profiles.csv, profile_blocks.csv, profile_tags.csv (a directory or the files), all or nothing; every connection using a changed profile is hot-reloaded. See docs/csv.md",
    )
    .argument("<paths...>", "a directory holding the profile CSV files, or the files themselves")
    .option("--dry-run", "validate and show what would change; change nothing")
    .action(async (paths: string[], opts: { dryRun?: boolean }) => {
      const inputs = readInputs(paths);
      const other = inputs.find((i) => !PROFILE_KINDS.includes(i.kind));
      if (other) {
        throw new NodiError(
          "configuration",
          `${other.file} is a ${other.kind}.csv: profile add takes profiles.csv, profile_blocks.csv and profile_tags.csv only (use nodi-edge import for a whole configuration)`,
          "usage",
        );
      }
      if (!inputs.some((i) => i.kind === "profiles")) {
        throw new NodiError(
          "configuration",
          "profiles.csv is required: it names the profiles the other files describe (docs/csv.md)",
          "usage",
        );
      }
      const db = ctx.settings().db;
      const store =
        opts.dryRun && !existsSync(db) ? openStore(":memory:") : ctx.openStore({ create: true });
      let result: ReturnType<typeof importCsv>;
      try {
        result = importCsv(store, inputs, {
          dryRun: opts.dryRun,
          origin: "cli:profile",
          audit: { identity: ctx.identity(), action: "profile.add", recordedBy: "nodi-edge" },
        });
      } catch (e) {
        if (isNodiError(e, "configuration") && e.reason === "invalid_csv") {
          const errors = e.details.errors as LoadError[];
          if (ctx.json()) ctx.io.out(`${JSON.stringify({ ok: false, errors }, null, 2)}\n`);
          ctx.io.err(
            `nodi-edge profile add: refused, nothing was changed; ${errors.length} error(s):\n`,
          );
          for (const err of errors) ctx.io.err(`${formatLoadError(err)}\n`);
          throw new CliExit(EXIT.DATA);
        }
        throw e;
      } finally {
        store.close();
      }
      const a = result.dryRun ? { published: 0, notified: false } : await announce(ctx, result);
      ctx.print(
        {
          ok: true,
          dry_run: result.dryRun,
          profile_changes: result.profileChanges,
          changes: result.changes,
          ...a,
        },
        () =>
          `${result.dryRun ? "dry run, nothing changed; profile add would do:" : `added ${result.counts.profiles ?? 0} profile(s):`}\n${describe(result)}`,
      );
    });

  profile
    .command("remove")
    .alias("rm")
    .description("remove a profile (refused while a device is an instance of it)")
    .argument("<profile>")
    .action(async (name: string) => {
      const store = ctx.openStore();
      let result: EditResult;
      try {
        mustGet(store, name);
        const used = instancesOf(store, name);
        if (used.length > 0) {
          throw new NodiError(
            "configuration",
            `profile "${name}" has ${used.length} instance(s): ${used.map((u) => `${u.conn_id}/${u.device}`).join(", ")}; remove those devices (nodi-edge device rm) or give them another profile first`,
            "in_use",
            { instances: used },
          );
        }
        result = store.apply({
          origin: "cli:profile",
          removeProfiles: [name],
          audit: {
            identity: ctx.identity(),
            action: "profile.remove",
            target: name,
            recordedBy: "nodi-edge",
          },
        });
      } finally {
        store.close();
      }
      ctx.print({ ok: true, profile_changes: result.profileChanges }, () => describe(result));
    });
}
