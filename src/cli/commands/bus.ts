import type { Command } from "commander";
import { redactUrl } from "../../core/redact-url.ts";
import type { CliContext } from "../context.ts";

/** `nodi-edge bus migrate --from URL [--to URL] [--keep-source]`: move the TagBus's keys. */
export function register(program: Command, ctx: CliContext): void {
  const bus = program.command("bus").description("the TagBus's Redis (NE_REDIS_URL)");
  bus
    .command("migrate")
    .description(
      "move every key under NE_REDIS_PREFIX from another Redis to the TagBus's (used by the package's upgrade, docs/security.md); stop the apps first",
    )
    .requiredOption("--from <url>", "the Redis the keys are in now")
    .option("--to <url>", "the Redis to move them to (default: NE_REDIS_URL)")
    .option("--keep-source", "leave the keys in the source Redis too")
    .action(async (o: { from: string; to?: string; keepSource?: boolean }) => {
      const settings = ctx.settings();
      const to = o.to ?? settings.redisUrl;
      // Loaded only here: node-redis is in no other path of the CLI (src/tagbus/migrate.ts).
      const { migrateBus } = await import("../../tagbus/migrate.ts");
      const r = await migrateBus(o.from, to, settings.redisPrefix, {
        keepSource: o.keepSource === true,
      });
      ctx.print(
        { ok: true, from: redactUrl(o.from), to: redactUrl(to), ...r },
        () =>
          `moved ${r.copied} keys under ${settings.redisPrefix} from ${redactUrl(o.from)} to ${redactUrl(to)}` +
          (r.skipped > 0 ? ` (${r.skipped} already there, kept)` : "") +
          `; removed ${r.removed} from the source`,
      );
    });
}
