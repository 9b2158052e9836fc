import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { atLeast, ROLES, ROUTE_RULES, type Role } from "../../src/web/roles.ts";
import { modbusConfig } from "../store/helpers.ts";
import { Client, startWebFixture, type WebFixture } from "./helpers.ts";

// Issue 16: every web/API route × every role. The routes come from the router itself, so a
// route added without a rule in src/web/roles.ts fails here (and is refused to everyone).

let fx: WebFixture;
const tokens = new Map<Role, string>();

beforeAll(async () => {
  fx = await startWebFixture(); // the first user, admin
  for (const role of ROLES)
    tokens.set(role, fx.web.app.auth.createToken("admin", `t-${role}`, role));
  const cfg = modbusConfig("plc-1");
  cfg.tags = cfg.tags.map((t, i) => (i === 0 ? { ...t, access: "read-write" } : t));
  fx.store.apply({ origin: "test", put: [cfg] });
}, 30_000);

afterAll(async () => {
  await fx?.close();
});

async function call(token: string | undefined, method: string, path: string) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${fx.web.url}${path}`, {
    method,
    headers,
    ...(method === "GET" ? {} : { body: "{}" }),
  });
  const text = await res.text();
  let reason: string | undefined;
  try {
    reason = (JSON.parse(text) as { error?: { reason?: string } }).error?.reason;
  } catch {
    // an event stream or CSV
  }
  return { status: res.status, reason };
}

/** A path of `pattern` whose ids name nothing (an allowed call then answers 4xx, changes nothing). */
const pathOf = (pattern: string) => pattern.replace(/:[a-z]+/g, "zz-none");

test("every route has a role rule, and every rule a route", () => {
  const routes = fx.web.app.routes().map((r) => `${r.method} ${r.pattern}`);
  expect(routes.filter((r) => ROUTE_RULES[r] === undefined)).toEqual([]);
  expect(Object.keys(ROUTE_RULES).filter((k) => !routes.includes(k))).toEqual([]);
});

describe("route × role", () => {
  test("each role is let through exactly the routes its rule allows; no login, only public ones", async () => {
    const wrong: string[] = [];
    for (const { method, pattern } of fx.web.app.routes()) {
      const rule = ROUTE_RULES[`${method} ${pattern}`]!;
      const path = pathOf(pattern);
      const anon = await call(undefined, method, path);
      if (rule !== "public" && anon.status !== 401)
        wrong.push(`anonymous ${method} ${path}: ${anon.status}`);
      for (const role of ROLES) {
        const r = await call(tokens.get(role), method, path);
        const allowed = rule === "public" || rule === "any" || atLeast(role, rule);
        const refused = r.status === 403 && r.reason === "forbidden";
        if (allowed === refused || r.reason === "no_role_rule")
          wrong.push(`${role} ${method} ${path}: ${r.status} ${r.reason} (rule ${rule})`);
      }
    }
    expect(wrong).toEqual([]);
  }, 60_000);
});

test("a cookie session carries its user's role", async () => {
  await fx.web.app.auth.setPassword("vera", "vera's password", "viewer");
  const c = new Client(fx.web.url);
  expect((await c.login("vera", "vera's password")).status).toBe(200);
  expect((await c.call("GET", "/api/session")).body).toMatchObject({ role: "viewer", conns: null });
  expect((await c.call("GET", "/api/connections")).status).toBe(200);
  const w = await c.call("POST", "/api/connections/plc-1/tags/speed/write", { value: 1 });
  expect(w.status).toBe(403);
  expect(w.body.error.message).toContain("needs role operator (you are viewer)");
});

test("an operator limited to some connections may not write others; refusals are audited", async () => {
  await fx.web.app.auth.setPassword("otto", "otto's password", "operator");
  fx.web.app.auth.setRole("otto", "operator", ["line2"]);
  const c = new Client(fx.web.url);
  await c.login("otto", "otto's password");
  const w = await c.call("POST", "/api/connections/plc-1/tags/speed/write", { value: 1 });
  expect(w.status).toBe(403);
  expect(w.body.error.message).toContain("you may write tags of line2 only, not of plc-1");
  expect(fx.web.app.audit.list({ who: "otto", action: "tag.write" })[0]).toMatchObject({
    result: "refused",
    reason: "forbidden",
    value: 1,
  });
  // unlimited: passes role and scope, then the tag's own rule answers
  fx.web.app.auth.setRole("otto", "operator", null);
  await c.login("otto", "otto's password");
  const ro = await c.call("POST", "/api/connections/plc-1/tags/temp/write", { value: 1 });
  expect(ro.status).toBe(403);
  expect(ro.body.error.reason).toBe("read_only");
});

test("a token never has more rights than its user, also after the user is demoted", async () => {
  await fx.web.app.auth.setPassword("erin", "erin's password", "engineer");
  expect(() => fx.web.app.auth.createToken("erin", "erin-admin", "admin")).toThrow(
    /a token of erin \(engineer\) cannot have role admin/,
  );
  const t = fx.web.app.auth.createToken("erin", "erin-eng");
  expect((await call(t, "PUT", "/api/connections/zz-none/blocks/x")).reason).not.toBe("forbidden");
  fx.web.app.auth.setRole("erin", "viewer");
  expect(await call(t, "PUT", "/api/connections/zz-none/blocks/x")).toEqual({
    status: 403,
    reason: "forbidden",
  });
});

test("admin API: users with roles and settings are managed and audited", async () => {
  const admin = tokens.get("admin")!;
  const put = (path: string, body: unknown) =>
    fetch(`${fx.web.url}${path}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const u = await put("/api/users/paul", {
    password: "paul's password",
    role: "operator",
    conns: ["plc-1"],
  });
  expect(u.status).toBe(201);
  expect(((await u.json()) as { user: unknown }).user).toMatchObject({
    username: "paul",
    role: "operator",
    conns: ["plc-1"],
  });
  const s = await put("/api/settings/audit.access.retention_days", { value: 7 });
  expect(s.status).toBe(200);
  const bad = await put("/api/settings/audit.access.retention_days", { value: 0 });
  expect(bad.status).toBe(400);
  const kinds = fx.web.app.audit.list({ kind: "admin" }).map((e) => e.action);
  expect(kinds).toContain("user.add");
  expect(kinds).toContain("setting.set");
});
