#!/usr/bin/env bun
import { Command, CommanderError } from "commander";
import { errorPolicy, isNodiError } from "../core/errors.ts";
import { EXIT } from "../core/exit-codes.ts";
import { processIdentity } from "../core/identity.ts";
import { createLogger } from "../core/log.ts";
import { isSettingsError, loadSettings, type Settings } from "../core/settings.ts";
import { AuditTrail } from "../store/audit.ts";
import { noDatabaseMessage, openStore, type Store } from "../store/store.ts";
import { openTagBus } from "../tagbus/index.ts";
import { recordWebIn } from "./audit.ts";
import { Auth } from "./auth.ts";
import { JournaldLogSource, type LogSource, systemdRuns } from "./log-source.ts";
import { parseRole } from "./roles.ts";
import { startWebServer } from "./server.ts";
import { migrateWebTables } from "./web-db.ts";

/** Reads all of stdin (a password piped in), first line only. */
async function readSecret(): Promise<string> {
  const text = await new Response(Bun.stdin.stream()).text();
  return (text.split(/\r?\n/)[0] ?? "").trim();
}

function withWebStore<T>(
  settings: Settings,
  f: (store: Store, auth: Auth) => Promise<T> | T,
): Promise<T> {
  const store = openStore(settings.db, { create: false });
  migrateWebTables(store.db);
  return Promise.resolve(f(store, new Auth(store.db))).finally(() => store.close());
}

/** Records an admin action of this command line (the Unix user of its uid) in the audit trail. */
function audited(
  store: Store,
  action: string,
  target: string,
  detail: Record<string, unknown> = {},
) {
  recordWebIn(new AuditTrail(store.db, "ne-web"), processIdentity("cli"), {
    action,
    target,
    ok: true,
    detail,
  });
}

/**
 * Serves the web UI until SIGTERM/SIGINT. On first start (no web user) creates `admin` from
 * `NE_WEB_ADMIN_PASSWORD` when set.
 */
async function serve(settings: Settings): Promise<number> {
  const log = createLogger("ne-web", settings.logLevel);
  const store = openStore(settings.db, { create: false });
  migrateWebTables(store.db);
  const auth = new Auth(store.db);
  if (auth.userCount() === 0) {
    if (settings.webAdminPassword) {
      await auth.setPassword("admin", settings.webAdminPassword);
      log.info("created web user admin from NE_WEB_ADMIN_PASSWORD");
    } else if (settings.webAuth === "on") {
      log.warn(
        "no web user yet: set NE_WEB_ADMIN_PASSWORD and restart, or run `ne-web passwd admin` (password on stdin)",
      );
    }
  }
  const bus = await openTagBus(settings, "web", log);
  // Under systemd the apps' logs are in journald; otherwise (the process manager interleaves
  // all apps on its stdout) the recentLogs of the app's health tag, then its last_error tags.
  const logs: LogSource | undefined = systemdRuns() ? new JournaldLogSource() : undefined;
  const web = startWebServer(
    { store, bus, logger: log, ...(logs ? { logs } : {}), auth: settings.webAuth },
    { host: settings.webListen.host, port: settings.webListen.port, tls: settings.webTls },
  );
  log.info(
    {
      url: web.url,
      auth: settings.webAuth,
      logs: logs ? `${logs.name}+health+errors` : "health+errors",
    },
    "web UI listening",
  );
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  log.info("stopping");
  await web.stop();
  await bus.close(2000);
  store.close();
  return EXIT.OK;
}

/** Builds the `ne-web` program. */
function buildProgram(settings: () => Settings, result: { code: number }): Command {
  const out = (s: string) => process.stdout.write(s);
  const program = new Command("ne-web")
    .description(
      "Nodi Edge web UI: serves the UI and JSON API on NE_WEB_LISTEN (default 127.0.0.1:8080)",
    )
    .exitOverride()
    .action(async () => {
      result.code = await serve(settings());
    });
  program
    .command("passwd <user>")
    .description(
      "create a web user or set its password (read from stdin, first line); same as nodi-edge user add",
    )
    .option(
      "--role <role>",
      "viewer, operator, engineer or admin (a new user: viewer; the first: admin)",
    )
    .action(async (user: string, o: { role?: string }) => {
      const pw = await readSecret();
      const role = o.role === undefined ? undefined : parseRole(o.role);
      await withWebStore(settings(), async (s, auth) => {
        const existed = auth.user(user) !== undefined;
        await auth.setPassword(user, pw, role);
        audited(s, existed ? "user.update" : "user.add", user, { role: auth.user(user)?.role });
      });
      out(`password of ${user} set\n`);
    });
  program
    .command("users")
    .description("list web users")
    .action(() =>
      withWebStore(settings(), (_s, auth) => {
        for (const u of auth.listUsers()) out(`${u}\n`);
      }),
    );
  const token = program.command("token").description("API bearer tokens (for scripts)");
  token
    .command("create <name>")
    .option("--user <user>", "user the token acts as", "admin")
    .option("--role <role>", "viewer, operator, engineer or admin (default: the user's)")
    .description("create a token; prints it once (only its SHA-256 is stored)")
    .action((name: string, o: { user: string; role?: string }) =>
      withWebStore(settings(), (s, auth) => {
        const role = o.role === undefined ? undefined : parseRole(o.role);
        out(`${auth.createToken(o.user, name, role)}\n`);
        audited(s, "token.create", name, { user: o.user });
      }),
    );
  token
    .command("list")
    .description("list tokens (names, users, last use)")
    .action(() =>
      withWebStore(settings(), (_s, auth) => {
        for (const t of auth.listTokens()) {
          const used = t.last_used_at ? new Date(t.last_used_at).toISOString() : "never";
          out(`${t.name}\t${t.username}\tlast used ${used}\n`);
        }
      }),
    );
  token
    .command("revoke <name>")
    .description("revoke a token")
    .action((name: string) =>
      withWebStore(settings(), (s, auth) => {
        if (!auth.revokeToken(name)) throw new Error(`no token named "${name}"`);
        audited(s, "token.revoke", name);
        out(`revoked ${name}\n`);
      }),
    );
  for (const c of [program, ...program.commands, ...token.commands]) c.exitOverride();
  return program;
}

/**
 * The `ne-web` executable: `ne-web` serves; `ne-web passwd USER`, `ne-web users`,
 * `ne-web token create|list|revoke` manage credentials in the SoT (NE_DB).
 * @returns 0, 64 (usage), 65 (bad input, e.g. a short password), 69 (Redis or DB unavailable),
 *   78 (a bad setting, or no DB file at `NE_DB`: ne-web never creates it; `nodi-edge db init`
 *   does).
 */
export async function main(argv: string[]): Promise<number> {
  const result = { code: EXIT.OK as number };
  let settings: Settings | undefined;
  const get = () => {
    settings ??= loadSettings();
    return settings;
  };
  try {
    await buildProgram(get, result).parseAsync(argv, { from: "user" });
    return result.code;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (isNodiError(e) && e.reason === "no_database") {
      // Never an empty, freshly created SoT: `nodi-edge db init` (the postinst) creates it.
      process.stderr.write(`ne-web: ${noDatabaseMessage(String(e.details.path))}\n`);
      return EXIT.CONFIG;
    }
    process.stderr.write(`ne-web: ${(e as Error).message}\n`);
    if (isSettingsError(e)) return EXIT.CONFIG;
    if (isNodiError(e)) return errorPolicy[e.kind].exitCode;
    return EXIT.CRASH;
  }
}

if (import.meta.main) {
  process.exit(await main(process.argv.slice(2)));
}
