import type { Ctx } from "../app.ts";
import { SESSION_IDLE_MS } from "../auth.ts";
import { HttpError, json, readJson } from "../http.ts";
import type { Router } from "../router.ts";

function str(body: Record<string, unknown>, key: string): string {
  const v = body[key];
  if (typeof v !== "string" || v === "") {
    throw new HttpError(400, "bad_request", `${key}: expected a non-empty string`);
  }
  return v;
}

/**
 * Session, password and token routes:
 * `POST /api/login`, `POST /api/logout`, `GET /api/session`, `POST /api/password`,
 * `GET|POST /api/tokens`, `DELETE /api/tokens/:name`.
 */
export function sessionRoutes(r: Router<Ctx>): void {
  r.on("POST", "/api/login", async (req, _p, ctx) => {
    const body = await readJson(req);
    const username = str(body, "username");
    const password = str(body, "password");
    if (username.length > 64 || password.length > 1024) {
      throw new HttpError(401, "bad_credentials", "wrong username or password");
    }
    ctx.throttle.begin(ctx.source, username);
    if (!(await ctx.auth.verifyPassword(username, password))) {
      ctx.audit.record({
        actor: `web:${username}`,
        action: "login",
        target: "",
        detail: {},
        ok: false,
      });
      throw new HttpError(401, "bad_credentials", "wrong username or password");
    }
    ctx.throttle.succeeded(ctx.source, username);
    const s = ctx.auth.createSession(username);
    ctx.audit.record({
      actor: `web:${username}`,
      action: "login",
      target: "",
      detail: {},
      ok: true,
    });
    return json({ username, csrf: s.csrf }, 200, {
      "set-cookie": ctx.cookie(s.sessionId, Math.floor(SESSION_IDLE_MS / 1000)),
    });
  });

  r.on("POST", "/api/logout", (req, _p, ctx) => {
    const cookie = req.headers.get("cookie") ?? "";
    const m = /(?:^|;\s*)ne_session=([^;]+)/.exec(cookie);
    if (m) ctx.auth.endSession(decodeURIComponent(m[1]!));
    ctx.audit.record({ actor: ctx.actor, action: "logout", target: "", detail: {}, ok: true });
    return json({ ok: true }, 200, { "set-cookie": ctx.cookie("", 0) });
  });

  r.on("GET", "/api/session", (_req, _p, ctx) => {
    if (!ctx.principal.username) {
      return json(
        {
          error: { kind: "http", reason: "unauthenticated", message: "not logged in" },
          setup: ctx.auth.userCount() === 0,
        },
        401,
      );
    }
    return json({
      username: ctx.principal.username,
      via: ctx.principal.via,
      csrf: ctx.principal.csrf ?? null,
    });
  });

  r.on("POST", "/api/password", async (req, _p, ctx) => {
    const body = await readJson(req);
    const current = str(body, "current");
    const next = str(body, "new");
    ctx.throttle.begin(ctx.source, ctx.principal.username);
    if (!(await ctx.auth.verifyPassword(ctx.principal.username, current))) {
      ctx.audit.record({
        actor: ctx.actor,
        action: "password.change",
        target: ctx.principal.username,
        detail: { reason: "bad_credentials" },
        ok: false,
      });
      throw new HttpError(403, "bad_credentials", "current password is wrong");
    }
    ctx.throttle.succeeded(ctx.source, ctx.principal.username);
    await ctx.auth.setPassword(ctx.principal.username, next);
    ctx.audit.record({
      actor: ctx.actor,
      action: "password.change",
      target: ctx.principal.username,
      detail: {},
      ok: true,
    });
    return json({ ok: true }, 200, { "set-cookie": ctx.cookie("", 0) });
  });

  r.on("GET", "/api/tokens", (_req, _p, ctx) => json({ tokens: ctx.auth.listTokens() }));

  r.on("POST", "/api/tokens", async (req, _p, ctx) => {
    const name = str(await readJson(req), "name");
    const token = ctx.auth.createToken(ctx.principal.username, name);
    ctx.audit.record({
      actor: ctx.actor,
      action: "token.create",
      target: name,
      detail: {},
      ok: true,
    });
    return json({ name, token }, 201);
  });

  r.on("DELETE", "/api/tokens/:name", (_req, p, ctx) => {
    const ok = ctx.auth.revokeToken(p.name!);
    if (!ok) throw new HttpError(404, "not_found", `no token named "${p.name}"`);
    ctx.audit.record({
      actor: ctx.actor,
      action: "token.revoke",
      target: p.name!,
      detail: {},
      ok: true,
    });
    return json({ ok: true });
  });

  r.on("GET", "/api/audit", (_req, _p, ctx) => {
    const q = ctx.url.searchParams;
    const limit = Number(q.get("limit") ?? 100);
    const before = q.get("before");
    return json({
      entries: ctx.audit.list({
        limit: Number.isFinite(limit) ? limit : 100,
        target: q.get("target") ?? undefined,
        beforeId: before ? Number(before) : undefined,
      }),
    });
  });
}
