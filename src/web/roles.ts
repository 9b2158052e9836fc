import { NodiError } from "../core/errors.ts";

/**
 * The roles of web UI users and API tokens, each including the ones before it:
 * - `viewer`: watch (connections, values, trends, diagnostics, northbounds);
 * - `operator`: also write read-write tags (optionally only of some connections);
 * - `engineer`: also change the configuration (connections, blocks, tags, devices,
 *   northbounds, CSV import and export) and read the audit trail;
 * - `admin`: also users, API tokens and settings (audit retention).
 */
export const ROLES = ["viewer", "operator", "engineer", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** True when `have` includes the rights of `need`. */
export function atLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/** The lower of two roles (a token never has more rights than its user). */
export function lowerRole(a: Role, b: Role): Role {
  return atLeast(a, b) ? b : a;
}

/** `role` checked. @throws NodiError `configuration` naming the roles. */
export function parseRole(role: unknown): Role {
  if (typeof role === "string" && (ROLES as readonly string[]).includes(role)) return role as Role;
  throw new NodiError(
    "configuration",
    `role must be one of ${ROLES.join(", ")} (got ${JSON.stringify(role)})`,
    "invalid_role",
  );
}

/**
 * Who may call a route: `public` (no login), `any` (any logged-in caller: its own session and
 * password), or the lowest role allowed.
 */
export type RouteRule = "public" | "any" | Role;

/**
 * The rule of every API route, keyed `METHOD /pattern` as registered on the router. A route
 * without a rule is refused to everyone (403 `no_role_rule`), and the route × role test
 * (test/web/roles.test.ts) fails for it: every new route must be added here.
 */
export const ROUTE_RULES: Readonly<Record<string, RouteRule>> = {
  "POST /api/login": "public",
  "GET /api/session": "public",
  "POST /api/logout": "any",
  "POST /api/password": "any",

  "GET /api/schema": "viewer",
  "GET /api/overview": "viewer",
  "GET /api/connections": "viewer",
  "GET /api/connections/:id": "viewer",
  "GET /api/connections/:id/values": "viewer",
  "GET /api/connections/:id/stream": "viewer",
  "GET /api/connections/:id/trend": "viewer",
  "GET /api/connections/:id/diagnostics": "viewer",
  "GET /api/connections/:id/plan": "viewer",
  "GET /api/northbounds": "viewer",
  "GET /api/northbounds/:id": "viewer",
  "GET /api/profiles": "viewer",
  "GET /api/profiles/:name": "viewer",

  "POST /api/connections/:id/tags/:tag/write": "operator",

  "POST /api/connections": "engineer",
  "PUT /api/connections/:id": "engineer",
  "DELETE /api/connections/:id": "engineer",
  "POST /api/connections/:id/enable": "engineer",
  "POST /api/connections/:id/disable": "engineer",
  "PUT /api/connections/:id/devices/:device": "engineer",
  "DELETE /api/connections/:id/devices/:device": "engineer",
  "PUT /api/connections/:id/blocks/:block": "engineer",
  "DELETE /api/connections/:id/blocks/:block": "engineer",
  "PUT /api/connections/:id/tags/:tag": "engineer",
  "DELETE /api/connections/:id/tags/:tag": "engineer",
  "PUT /api/connections/:id/config": "engineer",
  "POST /api/northbounds": "engineer",
  "PUT /api/northbounds/:id": "engineer",
  "DELETE /api/northbounds/:id": "engineer",
  "POST /api/northbounds/:id/enable": "engineer",
  "POST /api/northbounds/:id/disable": "engineer",
  "PUT /api/profiles/:name": "engineer",
  "DELETE /api/profiles/:name": "engineer",
  "POST /api/import": "engineer",
  "GET /api/export": "engineer",
  "GET /api/audit": "engineer",

  "GET /api/tokens": "admin",
  "POST /api/tokens": "admin",
  "DELETE /api/tokens/:name": "admin",
  "GET /api/users": "admin",
  "PUT /api/users/:name": "admin",
  "DELETE /api/users/:name": "admin",
  "GET /api/settings": "admin",
  "PUT /api/settings/:key": "admin",
};

/**
 * The connections an operator may write to: `null` = all; else the listed conn_ids. A token's
 * list is the intersection with its user's.
 */
export type ConnScope = readonly string[] | null;

/** Parses a stored or given scope (JSON array of conn_ids, a comma list, or null/empty = all). */
export function parseScope(v: unknown): ConnScope {
  if (v === null || v === undefined || v === "") return null;
  let list: unknown = v;
  if (typeof v === "string") {
    try {
      list = v.trim().startsWith("[") ? JSON.parse(v) : v.split(",");
    } catch {
      list = undefined;
    }
  }
  if (!Array.isArray(list) || !list.every((x) => typeof x === "string" && x.trim() !== "")) {
    throw new NodiError(
      "configuration",
      `connections must be a list of conn_ids (got ${JSON.stringify(v)})`,
      "invalid_scope",
    );
  }
  return [...new Set(list.map((x: string) => x.trim()))].sort();
}

/** The scope of a token of a user: both must allow a connection. */
export function intersectScopes(a: ConnScope, b: ConnScope): ConnScope {
  if (a === null) return b;
  if (b === null) return a;
  return a.filter((x) => b.includes(x));
}

/** True when `scope` lets its holder write tags of `connId`. */
export function inScope(scope: ConnScope, connId: string): boolean {
  return scope === null || scope.includes(connId);
}
