import { AUDIT_RESULTS, type AuditFilter } from "../../store/audit.ts";
import { AUDIT_KINDS } from "../../store/settings.ts";
import type { Ctx } from "../app.ts";
import { recordWeb, recordWebIn } from "../audit.ts";
import { SESSION_IDLE_MS } from "../auth.ts";
import { HttpError, json, readJson } from "../http.ts";
import { parseRole, parseScope } from "../roles.ts";
import type { Router } from "../router.ts";

/**
 * The filter of `GET /api/audit` from its query: `limit`, `before` (id), `target` (or `tag`),
 * `who`, `result`, `kind`, `action`, `since`/`until` (ms since the epoch or ISO 8601).
 * @throws HttpError 400 naming the parameter and what it expects.
 */
export function auditFilter(q: URLSearchParams): AuditFilter {
  const f: AuditFilter = {};
  const int = (name: string): number | undefined => {
    const v = q.get(name);
    if (v === null || v === "") return undefined;
    const n = Number(v);
    if (!Number.isInteger(n))
      throw new HttpError(400, "bad_request", `${name}: expected an integer, got "${v}"`);
    return n;
  };
  const time = (name: string): number | undefined => {
    const v = q.get(name);
    if (v === null || v === "") return undefined;
    const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (!Number.isFinite(n)) {
      throw new HttpError(
        400,
        "bad_request",
        `${name}: expected ms since the epoch or an ISO 8601 time, got "${v}"`,
      );
    }
    return n;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[]): T | undefined => {
    const v = q.get(name);
    if (v === null || v === "") return undefined;
    if (!(allowed as readonly string[]).includes(v)) {
      throw new HttpError(
        400,
        "bad_request",
        `${name}: expected one of ${allowed.join(", ")}, got "${v}"`,
      );
    }
    return v as T;
  };
  const limit = int("limit");
  if (limit !== undefined) f.limit = limit;
  const before = int("before");
  if (before !== undefined) f.beforeId = before;
  const since = time("since");
  if (since !== undefined) f.since = since;
  const until = time("until");
  if (until !== undefined) f.until = until;
  const target = q.get("target") || q.get("tag");
  if (target) f.target = target;
  const who = q.get("who");
  if (who) f.who = who;
  const action = q.get("action");
  if (action) f.action = action;
  const result = oneOf("result", AUDIT_RESULTS);
  if (result) f.result = result;
  const kind = oneOf("kind", AUDIT_KINDS);
  if (kind) f.kind = kind;
  return f;
}

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
      // kind `access`: a flood of these only pushes out older access entries (store/audit.ts)
      recordWebIn(
        ctx.audit,
        { via: "web", who: username, from: ctx.source },
        { action: "login", ok: false, reason: "bad_credentials" },
      );
      throw new HttpError(401, "bad_credentials", "wrong username or password");
    }
    ctx.throttle.succeeded(ctx.source, username);
    const s = ctx.auth.createSession(username);
    recordWebIn(
      ctx.audit,
      { via: "web", who: username, from: ctx.source },
      {
        action: "login",
        ok: true,
      },
    );
    return json({ username, csrf: s.csrf }, 200, {
      "set-cookie": ctx.cookie(s.sessionId, Math.floor(SESSION_IDLE_MS / 1000)),
    });
  });

  r.on("POST", "/api/logout", (req, _p, ctx) => {
    const cookie = req.headers.get("cookie") ?? "";
    const m = /(?:^|;\s*)ne_session=([^;]+)/.exec(cookie);
    if (m) ctx.auth.endSession(decodeURIComponent(m[1]!));
    recordWeb(ctx, { action: "logout", ok: true });
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
      role: ctx.principal.role,
      conns: ctx.principal.conns,
      csrf: ctx.principal.csrf ?? null,
    });
  });

  r.on("POST", "/api/password", async (req, _p, ctx) => {
    const body = await readJson(req);
    const current = str(body, "current");
    const next = str(body, "new");
    ctx.throttle.begin(ctx.source, ctx.principal.username);
    if (!(await ctx.auth.verifyPassword(ctx.principal.username, current))) {
      recordWeb(ctx, {
        action: "password.change",
        target: ctx.principal.username,
        ok: false,
        reason: "bad_credentials",
      });
      throw new HttpError(403, "bad_credentials", "current password is wrong");
    }
    ctx.throttle.succeeded(ctx.source, ctx.principal.username);
    await ctx.auth.setPassword(ctx.principal.username, next);
    recordWeb(ctx, { action: "password.change", target: ctx.principal.username, ok: true });
    return json({ ok: true }, 200, { "set-cookie": ctx.cookie("", 0) });
  });

  r.on("GET", "/api/tokens", (_req, _p, ctx) => json({ tokens: ctx.auth.listTokens() }));

  r.on("POST", "/api/tokens", async (req, _p, ctx) => {
    const body = await readJson(req);
    const name = str(body, "name");
    const role = body.role === undefined ? undefined : parseRole(body.role);
    const conns = parseScope(body.conns);
    const token = ctx.auth.createToken(ctx.principal.username, name, role, conns);
    const made = ctx.auth.listTokens().find((t) => t.name === name);
    recordWeb(ctx, {
      action: "token.create",
      target: name,
      ok: true,
      detail: { role: made?.role, conns: made?.conns ?? null },
    });
    return json({ name, token, role: made?.role, conns: made?.conns ?? null }, 201);
  });

  r.on("DELETE", "/api/tokens/:name", (_req, p, ctx) => {
    const ok = ctx.auth.revokeToken(p.name!);
    if (!ok) throw new HttpError(404, "not_found", `no token named "${p.name}"`);
    recordWeb(ctx, { action: "token.revoke", target: p.name!, ok: true });
    return json({ ok: true });
  });

  r.on("GET", "/api/audit", (_req, _p, ctx) => {
    return json({ entries: ctx.audit.list(auditFilter(ctx.url.searchParams)) });
  });
}
