import { actorOf, type Identity } from "../core/identity.ts";
import type { Logger } from "../core/log.ts";
import { AuditTrail } from "../store/audit.ts";
import type { Store } from "../store/store.ts";
import type { TagBus } from "../tagbus/tagbus.ts";
import { serveAsset } from "./assets.ts";
import { Auth, type Principal, safeEqual } from "./auth.ts";
import { errorResponse, getCookie, HttpError, json, SECURITY_HEADERS } from "./http.ts";
import { LiveHub } from "./live-hub.ts";
import {
  ChainedLogSource,
  HealthLogSource,
  type LogSource,
  RecentErrorsLogSource,
} from "./log-source.ts";
import { atLeast, ROUTE_RULES } from "./roles.ts";
import { Router } from "./router.ts";
import { PasswordThrottle } from "./throttle.ts";
import { migrateWebTables } from "./web-db.ts";

/** Name of the session cookie (HttpOnly, SameSite=Strict, Secure under TLS). */
export const SESSION_COOKIE = "ne_session";
/** Header carrying the CSRF token on every state-changing request of a browser session. */
export const CSRF_HEADER = "x-csrf-token";

/** What the web app needs; the entry point wires concrete SQLite, Redis and journald. */
export interface WebDeps {
  store: Store;
  bus: TagBus;
  logger: Logger;
  /**
   * Where the recent log lines of an interface app come from first (e.g. journald); then the
   * `recentLogs` of the app's health tag, then its recent `last_error` tags (recorded by the
   * live hub): the first that has lines answers.
   */
  logs?: LogSource;
  /** `on` (default): login or bearer token required; `off`: every request acts as `anonymous`. */
  auth?: "on" | "off";
  /** True when served over TLS: the session cookie gets `Secure`. */
  secure?: boolean;
  /** Clock, ms since the epoch (tests). */
  now?: () => number;
  /** The password throttle (tests pass one on their own clock). Default: one on {@link now}. */
  throttle?: PasswordThrottle;
}

/** Per-request context handed to route handlers. */
export interface Ctx {
  deps: WebDeps;
  auth: Auth;
  /** The one audit trail (store/audit.ts), recorded by `ne-web`. */
  audit: AuditTrail;
  live: LiveHub;
  /** Limits password guessing (login, password change), per {@link source}. */
  throttle: PasswordThrottle;
  /**
   * The client's address (`server.requestIP`, IPv4-mapped IPv6 written as IPv4), or
   * `unknown` when the server cannot tell (in-process calls in tests).
   */
  source: string;
  /** The log source of the diagnostics page. */
  logs: LogSource;
  url: URL;
  /** The authenticated caller (absent only on public routes). */
  principal: Principal;
  /**
   * Who the caller is, from how it authenticated: `{ via: "web", who: USER }` for a session,
   * `{ via: "api", who: TOKEN_NAME }` for a bearer token; `from` is the client address.
   */
  identity: Identity;
  /** `actorOf(identity)`: `web:alice` or `api:deploy`. */
  actor: string;
  /** Set-Cookie helper for login/logout. */
  cookie(value: string, maxAgeS: number): string;
  /**
   * True while the request's credentials are still valid (session not ended or expired, token
   * not revoked). Long-lived responses (event streams) check it and end when it turns false.
   */
  stillAuthorized(): boolean;
}

/** What the app uses of Bun's server: the idle timeout of a request and the client address. */
export interface ServerCaps {
  timeout?(req: Request, s: number): void;
  requestIP?(req: Request): { address: string } | null;
}

/** The client address of `req`: IPv4-mapped IPv6 (`::ffff:10.0.0.5`) as IPv4, or `unknown`. */
function sourceOf(req: Request, server?: ServerCaps): string {
  const a = server?.requestIP?.(req)?.address;
  if (!a) return "unknown";
  return a.startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a;
}

/** The web app: a `fetch` handler for `Bun.serve` plus its resources. */
export interface WebApp {
  fetch(req: Request, server?: ServerCaps): Promise<Response>;
  auth: Auth;
  audit: AuditTrail;
  /** Every route of the API (`METHOD /pattern`), for the role rules' test. */
  routes(): { method: string; pattern: string }[];
  /** Stops live subscriptions. Does not close the store or the bus (the caller owns them). */
  close(): Promise<void>;
}

/**
 * Builds the web app over `deps`: creates the `web_*` tables, registers the routes of
 * `api/*.ts`, and enforces, in one place: authentication (session cookie or bearer token),
 * CSRF (header token + same-origin check on every state change of a cookie session), security
 * headers, and the mapping of errors to HTTP statuses (`core/errors.ts` errorPolicy).
 */
export function createWebApp(deps: WebDeps, register: ((r: Router<Ctx>) => void)[]): WebApp {
  migrateWebTables(deps.store.db);
  const now = deps.now ?? Date.now;
  const auth = new Auth(deps.store.db, now);
  const audit = new AuditTrail(deps.store.db, "ne-web", now);
  const live = new LiveHub(deps.bus, deps.logger, now);
  const throttle = deps.throttle ?? new PasswordThrottle(now);
  const errors = new RecentErrorsLogSource(live);
  const health = new HealthLogSource(deps.bus);
  const logs: LogSource = deps.logs
    ? new ChainedLogSource(deps.logs, health, errors)
    : new ChainedLogSource(health, errors);
  const router = new Router<Ctx>();
  for (const r of register) r(router);
  const secure = deps.secure ?? false;
  const cookie = (value: string, maxAgeS: number) =>
    `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure ? "; Secure" : ""}`;

  async function handle(req: Request, server?: ServerCaps): Promise<Response> {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      throw new HttpError(400, "bad_request", "unparsable request URL or Host header");
    }
    if (!url.pathname.startsWith("/api/")) {
      return serveAsset(url.pathname, req.headers.get("if-none-match"));
    }
    const m = router.match(req.method, url.pathname);
    if (m === undefined) throw new HttpError(404, "no_route", `no API route ${url.pathname}`);
    if (m === "method") {
      throw new HttpError(
        405,
        "method_not_allowed",
        `${req.method} not allowed on ${url.pathname}`,
      );
    }
    const rule = ROUTE_RULES[`${m.method} ${m.pattern}`];
    const isPublic = rule === "public";
    const principal = authenticate(req, url);
    const changes = req.method !== "GET" && req.method !== "HEAD";
    if (changes) checkSameOrigin(req);
    if (!principal && !isPublic) {
      throw new HttpError(401, "unauthenticated", "log in or send Authorization: Bearer TOKEN");
    }
    if (principal && !isPublic) {
      // deny by default: a route without a rule in roles.ts is nobody's
      if (rule === undefined) {
        throw new HttpError(403, "no_role_rule", `no role rule for ${m.method} ${m.pattern}`);
      }
      if (rule !== "any" && !atLeast(principal.role, rule)) {
        throw new HttpError(
          403,
          "forbidden",
          `${m.method} ${url.pathname} needs role ${rule} (you are ${principal.role})`,
        );
      }
    }
    if (principal?.via === "session" && changes) {
      const sent = req.headers.get(CSRF_HEADER) ?? "";
      if (!principal.csrf || !safeEqual(sent, principal.csrf)) {
        throw new HttpError(403, "csrf", `missing or wrong ${CSRF_HEADER} header`);
      }
    }
    if (url.pathname.endsWith("/stream")) server?.timeout?.(req, 0);
    const p: Principal = principal ?? {
      username: "",
      via: "session" as const,
      role: "viewer",
      conns: [],
    };
    const source = sourceOf(req, server);
    const identity: Identity =
      deps.auth === "off"
        ? { via: "web", who: "anonymous", from: source, label: "NE_WEB_AUTH=off" }
        : p.via === "token"
          ? { via: "api", who: p.tokenName ?? "", from: `${source} (token of ${p.username})` }
          : { via: "web", who: p.username, from: source };
    const actor = actorOf(identity);
    return await m.handler(req, m.params, {
      deps,
      auth,
      audit,
      live,
      throttle,
      source,
      logs,
      url,
      principal: p,
      identity,
      actor,
      cookie,
      stillAuthorized: () => {
        try {
          return authenticate(req, url, false) !== undefined;
        } catch {
          return false;
        }
      },
    });
  }

  /** The caller of `req`; `touch` records the use (off for re-checks of a running stream). */
  function authenticate(req: Request, url: URL, touch = true): Principal | undefined {
    if (deps.auth === "off") {
      checkLoopbackHost(url);
      return {
        username: "anonymous",
        via: "token",
        tokenName: "auth-off",
        role: "admin",
        conns: null,
      };
    }
    const authz = req.headers.get("authorization");
    if (authz) {
      const m = /^Bearer\s+(\S+)$/i.exec(authz);
      const p = m ? auth.tokenPrincipal(m[1]!, touch) : undefined;
      if (!p) throw new HttpError(401, "bad_token", "unknown or revoked bearer token");
      return p;
    }
    const sid = getCookie(req, SESSION_COOKIE);
    return sid ? auth.sessionPrincipal(sid, touch) : undefined;
  }

  return {
    auth,
    audit,
    routes: () => router.list(),
    async fetch(req, server) {
      let res: Response;
      try {
        res = await handle(req, server);
      } catch (e) {
        if (!(e instanceof HttpError) && !(e as { kind?: string }).kind) {
          deps.logger.error({ err: e, url: req.url }, "web request failed");
        }
        res = errorResponse(e);
      }
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) {
        if (!res.headers.has(k)) res.headers.set(k, v);
      }
      if (secure) res.headers.set("strict-transport-security", "max-age=31536000");
      return res;
    },
    async close() {
      await live.close();
    },
  };
}

/**
 * Refuses a state change whose `Origin` (or, without it, `Referer`) names another site than
 * the `Host` it was sent to. Browsers always send `Origin` on cross-site POSTs; scripts with a
 * bearer token usually send neither, which is allowed.
 */
function checkSameOrigin(req: Request): void {
  const host = req.headers.get("host");
  const origin = req.headers.get("origin") ?? req.headers.get("referer");
  if (!origin || !host) return;
  let got: string;
  try {
    got = new URL(origin).host;
  } catch {
    throw new HttpError(403, "cross_origin", "unparsable Origin header");
  }
  if (got !== host) {
    throw new HttpError(403, "cross_origin", `request from ${got} refused (this site is ${host})`);
  }
}

/**
 * With login off, only requests addressed to a loopback name or an IP literal are served, so
 * a web page elsewhere cannot reach the API through DNS rebinding (its Host would be its own
 * domain name). Judged on the parsed URL (`req.url` carries the Host header), so `evil.com:`
 * or other odd spellings are normalised before the check.
 */
function checkLoopbackHost(url: URL): void {
  const host = url.hostname;
  const ok =
    host === "localhost" || /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || /^\[[0-9a-f:.]+\]$/i.test(host);
  if (!ok) {
    throw new HttpError(
      403,
      "host_not_allowed",
      `with NE_WEB_AUTH=off only IP or localhost addresses are served (got ${host})`,
    );
  }
}

export { json };
