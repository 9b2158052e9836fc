import type { Command } from "commander";
import { SCHEMA_VERSION } from "../../store/migrations.ts";
import type { CliContext } from "../context.ts";

/** `nodi-edge db init|info`: create or migrate the source of truth and show its state. */
export function register(program: Command, ctx: CliContext): void {
  const db = program.command("db").description("the SQLite source of truth (NE_DB / --db)");
  db.command("init")
    .description("create the database file, or migrate it to this version's schema")
    .action(() => {
      const store = ctx.openStore({ create: true });
      try {
        const info = { db: store.path, schema_version: store.schemaVersion };
        ctx.print(info, () => `database ${info.db} ready, schema version ${info.schema_version}`);
      } finally {
        store.close();
      }
    });
  db.command("info")
    .description("show the schema version and row counts")
    .action(() => {
      const store = ctx.openStore();
      try {
        const count = (t: string) =>
          (store.db.query(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n;
        const info = {
          db: store.path,
          schema_version: store.schemaVersion,
          supported_schema_version: SCHEMA_VERSION,
          connections: count("connections"),
          blocks: count("blocks"),
          tags: count("tags"),
          northbounds: count("northbounds"),
        };
        ctx.print(info, () =>
          Object.entries(info)
            .map(([k, v]) => `${k}: ${v}`)
            .join("\n"),
        );
      } finally {
        store.close();
      }
    });
}
