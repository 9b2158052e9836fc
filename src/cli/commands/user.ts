import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { NodiError } from "../../core/errors.ts";
import { AuditTrail } from "../../store/audit.ts";
import type { Store } from "../../store/store.ts";
import { recordWebIn } from "../../web/audit.ts";
import { Auth } from "../../web/auth.ts";
import { parseRole, parseScope, ROLES } from "../../web/roles.ts";
import { migrateWebTables } from "../../web/web-db.ts";
import type { CliContext } from "../context.ts";
import { formatTable } from "../table.ts";

/** Runs `f` on the web tables of the SoT (migrated), then closes it. */
async function withAuth<T>(
  ctx: CliContext,
  f: (
    auth: Auth,
    store: Store,
    record: (action: string, target: string, detail?: Record<string, unknown>) => void,
  ) => T | Promise<T>,
): Promise<T> {
  const store = ctx.openStore();
  try {
    migrateWebTables(store.db);
    const trail = new AuditTrail(store.db, "nodi-edge");
    const identity = ctx.identity();
    return await f(new Auth(store.db), store, (action, target, detail = {}) =>
      recordWebIn(trail, identity, { action, target, ok: true, detail }),
    );
  } finally {
    store.close();
  }
}

/** The first line of `file`, or of stdin with `-` (never from an argument: `ps` shows those). */
async function readPassword(file: string): Promise<string> {
  const text =
    file === "-" ? await new Response(Bun.stdin.stream()).text() : readFileSync(file, "utf8");
  return (text.split(/\r?\n/)[0] ?? "").trim();
}

const scopeText = (c: readonly string[] | null) => (c === null ? "all" : c.join(",") || "none");

/**
 * `nodi-edge user list|add|set|rm` and `nodi-edge token create|list|revoke`: web UI users with
 * their roles, and API bearer tokens (docs/security.md "Web UI and API: roles"). Every change
 * is audited (kind `admin`) as the Unix user running the command.
 */
export function register(program: Command, ctx: CliContext): void {
  const user = program.command("user").description("web UI users and their roles");
  user
    .command("list")
    .description("users with role and the connections an operator may write")
    .action(() =>
      withAuth(ctx, (auth) => {
        const users = auth.listUserInfo();
        ctx.print(users, () =>
          formatTable(
            ["user", "role", "connections"],
            users.map((u) => [u.username, u.role, scopeText(u.conns)]),
          ),
        );
      }),
    );
  user
    .command("add")
    .description("create a user, or set its password")
    .argument("<name>")
    .requiredOption(
      "--password-file <file>",
      "read the password from the file's first line (- = stdin)",
    )
    .option(
      "--role <role>",
      `one of ${ROLES.join(", ")} (a new user: viewer, the first one: admin)`,
    )
    .option("--conns <ids>", "operator: only these connections (comma list)")
    .action(async (name: string, o: { passwordFile: string; role?: string; conns?: string }) => {
      const pw = await readPassword(o.passwordFile);
      const role = o.role === undefined ? undefined : parseRole(o.role);
      const conns = parseScope(o.conns);
      await withAuth(ctx, async (auth, _s, record) => {
        const existed = auth.user(name) !== undefined;
        await auth.setPassword(name, pw, role);
        if (o.conns !== undefined) auth.setRole(name, auth.user(name)!.role, conns);
        const u = auth.user(name)!;
        record(existed ? "user.update" : "user.add", name, {
          role: u.role,
          conns: u.conns,
          password_changed: true,
        });
        ctx.print(
          u,
          () =>
            `${name}: ${existed ? "password set" : "created"}, role ${u.role}, connections ${scopeText(u.conns)}`,
        );
      });
    });
  user
    .command("set")
    .description("change a user's role (ends its sessions)")
    .argument("<name>")
    .requiredOption("--role <role>", ROLES.join(", "))
    .option("--conns <ids>", "operator: only these connections (comma list; empty = all)")
    .action((name: string, o: { role: string; conns?: string }) =>
      withAuth(ctx, (auth, _s, record) => {
        const before = auth.user(name);
        if (!before) throw new NodiError("not_found", `no user "${name}"`, "not_found");
        auth.setRole(
          name,
          parseRole(o.role),
          o.conns === undefined ? before.conns : parseScope(o.conns),
        );
        const u = auth.user(name)!;
        record("user.update", name, { role: u.role, role_before: before.role, conns: u.conns });
        ctx.print(u, () => `${name}: role ${u.role}, connections ${scopeText(u.conns)}`);
      }),
    );
  user
    .command("rm")
    .description("remove a user with its sessions and tokens")
    .argument("<name>")
    .action((name: string) =>
      withAuth(ctx, (auth, _s, record) => {
        if (!auth.removeUser(name))
          throw new NodiError("not_found", `no user "${name}"`, "not_found");
        record("user.remove", name);
        ctx.print({ ok: true }, () => `removed ${name}`);
      }),
    );

  const token = program.command("token").description("API bearer tokens (Authorization: Bearer …)");
  token
    .command("create")
    .description("create a token; prints it once (only its SHA-256 is stored)")
    .argument("<name>")
    .option("--user <user>", "the user it acts for (its role is the most it can have)", "admin")
    .option("--role <role>", `one of ${ROLES.join(", ")} (default: the user's)`)
    .option("--conns <ids>", "operator: only these connections (comma list)")
    .action((name: string, o: { user: string; role?: string; conns?: string }) =>
      withAuth(ctx, (auth, _s, record) => {
        const t = auth.createToken(
          o.user,
          name,
          o.role === undefined ? undefined : parseRole(o.role),
          parseScope(o.conns),
        );
        const made = auth.listTokens().find((x) => x.name === name)!;
        record("token.create", name, { user: o.user, role: made.role, conns: made.conns });
        ctx.print({ name, token: t, role: made.role, conns: made.conns }, () => t);
      }),
    );
  token
    .command("list")
    .description("tokens: name, user, role, connections, last use")
    .action(() =>
      withAuth(ctx, (auth) => {
        const all = auth.listTokens();
        ctx.print(all, () =>
          formatTable(
            ["token", "user", "role", "connections", "last used"],
            all.map((t) => [
              t.name,
              t.username,
              t.role,
              scopeText(t.conns),
              t.last_used_at ? new Date(t.last_used_at).toISOString() : "never",
            ]),
          ),
        );
      }),
    );
  token
    .command("revoke")
    .description("revoke a token (its open live streams end within 2 s)")
    .argument("<name>")
    .action((name: string) =>
      withAuth(ctx, (auth, _s, record) => {
        if (!auth.revokeToken(name))
          throw new NodiError("not_found", `no token named "${name}"`, "not_found");
        record("token.revoke", name);
        ctx.print({ ok: true }, () => `revoked ${name}`);
      }),
    );
}
