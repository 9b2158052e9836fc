import { NodiError } from "../../core/errors.ts";
import { checkSetting, listSettings, setSetting } from "../../store/settings.ts";
import type { Ctx } from "../app.ts";
import { recordWeb } from "../audit.ts";
import { HttpError, json, readJson } from "../http.ts";
import { parseRole, parseScope } from "../roles.ts";
import type { Router } from "../router.ts";

/**
 * Admin routes (role `admin`, src/web/roles.ts): users `GET /api/users`,
 * `PUT /api/users/:name` `{ password?, role?, conns? }` (creates the user when absent; a new
 * user needs a password), `DELETE /api/users/:name`; settings `GET /api/settings`,
 * `PUT /api/settings/:key` `{ value }`. Every change is audited (kind `admin`).
 */
export function adminRoutes(r: Router<Ctx>): void {
  r.on("GET", "/api/users", (_req, _p, ctx) => json({ users: ctx.auth.listUserInfo() }));

  r.on("PUT", "/api/users/:name", async (req, p, ctx) => {
    const name = p.name!;
    const body = await readJson(req);
    const existing = ctx.auth.user(name);
    const role = body.role === undefined ? undefined : parseRole(body.role);
    const conns = body.conns === undefined ? (existing?.conns ?? null) : parseScope(body.conns);
    if (body.password !== undefined && typeof body.password !== "string") {
      throw new HttpError(400, "bad_request", "password: expected a string");
    }
    if (!existing && typeof body.password !== "string") {
      throw new HttpError(400, "bad_request", `user ${name} does not exist: give a password`);
    }
    if (existing && name === ctx.principal.username && role !== undefined && role !== "admin") {
      throw new HttpError(409, "last_admin", "you cannot take your own admin role away");
    }
    if (typeof body.password === "string")
      await ctx.auth.setPassword(name, body.password, role ?? existing?.role ?? "viewer");
    const after = ctx.auth.user(name);
    if (after && (role !== undefined || body.conns !== undefined))
      ctx.auth.setRole(name, role ?? after.role, conns);
    const user = ctx.auth.user(name);
    recordWeb(ctx, {
      action: existing ? "user.update" : "user.add",
      target: name,
      ok: true,
      detail: {
        role: user?.role,
        conns: user?.conns ?? null,
        ...(existing ? { role_before: existing.role } : {}),
        password_changed: typeof body.password === "string",
      },
    });
    return json({ user }, existing ? 200 : 201);
  });

  r.on("DELETE", "/api/users/:name", (_req, p, ctx) => {
    if (p.name === ctx.principal.username) {
      throw new HttpError(409, "last_admin", "you cannot remove yourself");
    }
    if (!ctx.auth.removeUser(p.name!)) {
      throw new NodiError("not_found", `no user "${p.name}"`, "not_found");
    }
    recordWeb(ctx, { action: "user.remove", target: p.name!, ok: true });
    return json({ ok: true });
  });

  r.on("GET", "/api/settings", (_req, _p, ctx) =>
    json({ settings: listSettings(ctx.deps.store.db) }),
  );

  r.on("PUT", "/api/settings/:key", async (req, p, ctx) => {
    const body = await readJson(req);
    const value = checkSetting(p.key!, body.value);
    const db = ctx.deps.store.db;
    let before = 0;
    db.transaction(() => {
      before = setSetting(db, p.key!, value, ctx.actor);
      ctx.audit.record({
        kind: "admin",
        identity: ctx.identity,
        action: "setting.set",
        target: p.key!,
        value,
        previous: before,
        result: "done",
      });
    })();
    return json({ key: p.key, value, previous: before });
  });
}
