import type { Database } from "bun:sqlite";
import { NodiError } from "../core/errors.ts";
import {
  type ConnScope,
  intersectScopes,
  lowerRole,
  parseRole,
  parseScope,
  type Role,
} from "./roles.ts";

/** Who made a request: a logged-in user (cookie session) or a script (bearer token). */
export interface Principal {
  username: string;
  /** `session` (browser, needs CSRF on state changes) or `token` (script, no cookie). */
  via: "session" | "token";
  /** The session's CSRF token (sessions only). */
  csrf?: string;
  /** The token's name (tokens only). */
  tokenName?: string;
  /** What the caller may do (a token: the lower of its own role and its user's). */
  role: Role;
  /** The connections whose tags an operator may write (`null`: all). */
  conns: ConnScope;
}

/** A user as listed (no password hash). */
export interface UserInfo {
  username: string;
  role: Role;
  conns: ConnScope;
  created_at: number;
  updated_at: number;
}

/** Session lifetime after the last request, ms (12 h). */
export const SESSION_IDLE_MS = 12 * 3600_000;
/** Absolute session lifetime, ms (7 days). */
export const SESSION_MAX_MS = 7 * 24 * 3600_000;

const USERNAME_RE = /^[A-Za-z0-9_.@-]{1,64}$/;

/** 32 random bytes, base64url (256 bits): session ids, CSRF tokens, API tokens. */
export function randomToken(): string {
  const b = new Uint8Array(32);
  crypto.getRandomValues(b);
  return Buffer.from(b).toString("base64url");
}

/** SHA-256 hex of a high-entropy secret (session ids and API tokens are stored only so). */
export function sha256(secret: string): string {
  return new Bun.CryptoHasher("sha256").update(secret).digest("hex");
}

/** Constant-time string comparison (CSRF tokens). */
export function safeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}

/**
 * Users, sessions and API tokens of the web UI, in the `web_*` tables (see `web-db.ts`).
 * Passwords are stored as argon2id hashes (`Bun.password`, memory-hard); session ids and
 * tokens as SHA-256 (they are 256-bit random, so a fast hash is enough).
 */
export class Auth {
  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {}

  /** Number of users. */
  userCount(): number {
    return (this.db.query("SELECT COUNT(*) AS n FROM web_users").get() as { n: number }).n;
  }

  /** Usernames, sorted. */
  listUsers(): string[] {
    return (
      this.db.query("SELECT username FROM web_users ORDER BY username").all() as {
        username: string;
      }[]
    ).map((r) => r.username);
  }

  /** Users with their roles, sorted by name. */
  listUserInfo(): UserInfo[] {
    return (
      this.db
        .query(
          "SELECT username, role, conns, created_at, updated_at FROM web_users ORDER BY username",
        )
        .all() as (Omit<UserInfo, "conns" | "role"> & { role: string; conns: string | null })[]
    ).map((r) => ({ ...r, role: parseRole(r.role), conns: parseScope(r.conns) }));
  }

  /** One user, or `undefined`. */
  user(username: string): UserInfo | undefined {
    return this.listUserInfo().find((u) => u.username === username);
  }

  /**
   * Sets a user's role and connection scope (ends its sessions, so the new rights apply at once).
   * @throws NodiError `not_found` for an unknown user, `configuration` for a bad role or scope.
   */
  setRole(username: string, role: Role, conns: ConnScope = null): void {
    parseRole(role);
    const n = this.db
      .query("UPDATE web_users SET role = ?, conns = ?, updated_at = ? WHERE username = ?")
      .run(role, conns === null ? null : JSON.stringify(conns), this.now(), username).changes;
    if (n === 0) throw new NodiError("not_found", `no user "${username}"`, "not_found");
    this.db.query("DELETE FROM web_sessions WHERE username = ?").run(username);
  }

  /**
   * Creates the user or replaces its password; ends the user's sessions on a change. A new
   * user gets `role` (default: `admin` for the first user of the gateway, else `viewer`); an
   * existing one keeps its role unless `role` is given.
   * @throws NodiError `configuration` for a bad username or a password shorter than 8 characters.
   */
  async setPassword(username: string, password: string, role?: Role): Promise<void> {
    if (role !== undefined) parseRole(role);
    if (!USERNAME_RE.test(username)) {
      throw new NodiError("configuration", "username must match ^[A-Za-z0-9_.@-]{1,64}$");
    }
    if (password.length < 8) {
      throw new NodiError("configuration", "password must be at least 8 characters");
    }
    const hash = await Bun.password.hash(password, { algorithm: "argon2id" });
    const t = this.now();
    this.db.transaction(() => {
      this.db
        .query(
          `INSERT INTO web_users (username, password_hash, created_at, updated_at, role) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(username) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at`,
        )
        .run(username, hash, t, t, role ?? (this.userCount() === 0 ? "admin" : "viewer"));
      if (role !== undefined) {
        this.db.query("UPDATE web_users SET role = ? WHERE username = ?").run(role, username);
      }
      this.db.query("DELETE FROM web_sessions WHERE username = ?").run(username);
    })();
  }

  /** Removes a user (and its sessions and tokens). @returns false when it did not exist. */
  removeUser(username: string): boolean {
    return this.db.query("DELETE FROM web_users WHERE username = ?").run(username).changes > 0;
  }

  /** True when `password` is the user's. Spends the same hashing time for unknown users. */
  async verifyPassword(username: string, password: string): Promise<boolean> {
    const row = this.db
      .query("SELECT password_hash FROM web_users WHERE username = ?")
      .get(username) as { password_hash: string } | null;
    if (!row) {
      await Bun.password.verify(password, dummy()).catch(() => false);
      return false;
    }
    return await Bun.password.verify(password, row.password_hash);
  }

  /** Starts a session. @returns the cookie value (shown once) and the CSRF token. */
  createSession(username: string): { sessionId: string; csrf: string } {
    const sessionId = randomToken();
    const csrf = randomToken();
    const t = this.now();
    this.db
      .query(
        "INSERT INTO web_sessions (id_hash, username, csrf, created_at, expires_at, last_seen) VALUES (?, ?, ?, ?, ?, ?)",
      )
      .run(sha256(sessionId), username, csrf, t, t + SESSION_MAX_MS, t);
    return { sessionId, csrf };
  }

  /**
   * The principal of a session cookie, or `undefined` when unknown or expired (idle or
   * absolute). `touch` (default) records the use, which postpones the idle expiry.
   */
  sessionPrincipal(sessionId: string, touch = true): Principal | undefined {
    const t = this.now();
    const id = sha256(sessionId);
    const row = this.db
      .query(
        `SELECT s.username, s.csrf, s.expires_at, s.last_seen, u.role, u.conns
         FROM web_sessions s JOIN web_users u ON u.username = s.username WHERE s.id_hash = ?`,
      )
      .get(id) as {
      username: string;
      csrf: string;
      expires_at: number;
      last_seen: number;
      role: string;
      conns: string | null;
    } | null;
    if (!row) return undefined;
    if (row.expires_at <= t || row.last_seen + SESSION_IDLE_MS <= t) {
      this.db.query("DELETE FROM web_sessions WHERE id_hash = ?").run(id);
      return undefined;
    }
    if (touch && t - row.last_seen > 60_000) {
      this.db.query("UPDATE web_sessions SET last_seen = ? WHERE id_hash = ?").run(t, id);
    }
    return {
      username: row.username,
      via: "session",
      csrf: row.csrf,
      role: parseRole(row.role),
      conns: parseScope(row.conns),
    };
  }

  /** Ends a session (logout). */
  endSession(sessionId: string): void {
    this.db.query("DELETE FROM web_sessions WHERE id_hash = ?").run(sha256(sessionId));
  }

  /**
   * Creates an API token named `name` acting for `username`, with `role` (default: the user's)
   * and optionally limited to some connections; it never has more rights than its user.
   * @returns the token (shown once; only its SHA-256 is stored).
   * @throws NodiError `configuration` when the name is taken or bad, the role is bad or above
   *   the user's; `not_found` for an unknown user.
   */
  createToken(username: string, name: string, role?: Role, conns: ConnScope = null): string {
    const owner = this.user(username);
    if (!owner) throw new NodiError("not_found", `no user "${username}"`, "not_found");
    const r = role === undefined ? owner.role : parseRole(role);
    if (lowerRole(r, owner.role) !== r) {
      throw new NodiError(
        "configuration",
        `a token of ${username} (${owner.role}) cannot have role ${r}`,
        "role_above_user",
      );
    }
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(name)) {
      throw new NodiError("configuration", "token name must match ^[A-Za-z0-9_.:-]{1,64}$");
    }
    const exists = this.db.query("SELECT 1 FROM web_tokens WHERE name = ?").get(name);
    if (exists) throw new NodiError("configuration", `a token named "${name}" exists`);
    const token = `ne_${randomToken()}`;
    this.db
      .query(
        "INSERT INTO web_tokens (name, token_hash, username, created_at, role, conns) VALUES (?, ?, ?, ?, ?, ?)",
      )
      .run(
        name,
        sha256(token),
        username,
        this.now(),
        r,
        conns === null ? null : JSON.stringify(conns),
      );
    return token;
  }

  /** Tokens (without secrets), newest first. */
  listTokens(): {
    id: number;
    name: string;
    username: string;
    role: Role;
    conns: ConnScope;
    created_at: number;
    last_used_at: number | null;
  }[] {
    return (
      this.db
        .query(
          "SELECT id, name, username, role, conns, created_at, last_used_at FROM web_tokens ORDER BY id DESC",
        )
        .all() as {
        id: number;
        name: string;
        username: string;
        role: string;
        conns: string | null;
        created_at: number;
        last_used_at: number | null;
      }[]
    ).map((t) => ({ ...t, role: parseRole(t.role), conns: parseScope(t.conns) }));
  }

  /** Revokes a token by name. @returns false when it did not exist. */
  revokeToken(name: string): boolean {
    return this.db.query("DELETE FROM web_tokens WHERE name = ?").run(name).changes > 0;
  }

  /** The principal of a bearer token, or `undefined`. `touch` (default) records its last use. */
  tokenPrincipal(token: string, touch = true): Principal | undefined {
    const row = this.db
      .query(
        `SELECT t.id, t.name, t.username, t.last_used_at, t.role, t.conns, u.role AS user_role,
           u.conns AS user_conns
         FROM web_tokens t JOIN web_users u ON u.username = t.username WHERE t.token_hash = ?`,
      )
      .get(sha256(token)) as {
      id: number;
      name: string;
      username: string;
      last_used_at: number | null;
      role: string;
      conns: string | null;
      user_role: string;
      user_conns: string | null;
    } | null;
    if (!row) return undefined;
    // Recorded to the minute: a script polling the API must not write the DB per request.
    const t = this.now();
    if (touch && (row.last_used_at === null || t - row.last_used_at > 60_000)) {
      this.db.query("UPDATE web_tokens SET last_used_at = ? WHERE id = ?").run(t, row.id);
    }
    return {
      username: row.username,
      via: "token",
      tokenName: row.name,
      // a user demoted after the token was made demotes the token too
      role: lowerRole(parseRole(row.role), parseRole(row.user_role)),
      conns: intersectScopes(parseScope(row.conns), parseScope(row.user_conns)),
    };
  }
}

let dummyHash: string | undefined;
/** An argon2id hash of a random string, verified against for unknown users (equal timing). */
function dummy(): string {
  dummyHash ??= Bun.password.hashSync(randomToken(), { algorithm: "argon2id" });
  return dummyHash;
}
