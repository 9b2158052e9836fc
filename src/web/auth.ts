import type { Database } from "bun:sqlite";
import { NodiError } from "../core/errors.ts";

/** Who made a request: a logged-in user (cookie session) or a script (bearer token). */
export interface Principal {
  username: string;
  /** `session` (browser, needs CSRF on state changes) or `token` (script, no cookie). */
  via: "session" | "token";
  /** The session's CSRF token (sessions only). */
  csrf?: string;
  /** The token's name (tokens only). */
  tokenName?: string;
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

  /**
   * Creates the user or replaces its password; ends the user's sessions on a change.
   * @throws NodiError `configuration` for a bad username or a password shorter than 8 characters.
   */
  async setPassword(username: string, password: string): Promise<void> {
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
          `INSERT INTO web_users (username, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT(username) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at`,
        )
        .run(username, hash, t, t);
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
      .query("SELECT username, csrf, expires_at, last_seen FROM web_sessions WHERE id_hash = ?")
      .get(id) as { username: string; csrf: string; expires_at: number; last_seen: number } | null;
    if (!row) return undefined;
    if (row.expires_at <= t || row.last_seen + SESSION_IDLE_MS <= t) {
      this.db.query("DELETE FROM web_sessions WHERE id_hash = ?").run(id);
      return undefined;
    }
    if (touch && t - row.last_seen > 60_000) {
      this.db.query("UPDATE web_sessions SET last_seen = ? WHERE id_hash = ?").run(t, id);
    }
    return { username: row.username, via: "session", csrf: row.csrf };
  }

  /** Ends a session (logout). */
  endSession(sessionId: string): void {
    this.db.query("DELETE FROM web_sessions WHERE id_hash = ?").run(sha256(sessionId));
  }

  /**
   * Creates an API token for `username` named `name`.
   * @returns the token (shown once; only its SHA-256 is stored).
   * @throws NodiError `configuration` when the name is taken or empty.
   */
  createToken(username: string, name: string): string {
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(name)) {
      throw new NodiError("configuration", "token name must match ^[A-Za-z0-9_.:-]{1,64}$");
    }
    const exists = this.db.query("SELECT 1 FROM web_tokens WHERE name = ?").get(name);
    if (exists) throw new NodiError("configuration", `a token named "${name}" exists`);
    const token = `ne_${randomToken()}`;
    this.db
      .query("INSERT INTO web_tokens (name, token_hash, username, created_at) VALUES (?, ?, ?, ?)")
      .run(name, sha256(token), username, this.now());
    return token;
  }

  /** Tokens (without secrets), newest first. */
  listTokens(): {
    id: number;
    name: string;
    username: string;
    created_at: number;
    last_used_at: number | null;
  }[] {
    return this.db
      .query("SELECT id, name, username, created_at, last_used_at FROM web_tokens ORDER BY id DESC")
      .all() as never;
  }

  /** Revokes a token by name. @returns false when it did not exist. */
  revokeToken(name: string): boolean {
    return this.db.query("DELETE FROM web_tokens WHERE name = ?").run(name).changes > 0;
  }

  /** The principal of a bearer token, or `undefined`. `touch` (default) records its last use. */
  tokenPrincipal(token: string, touch = true): Principal | undefined {
    const row = this.db
      .query("SELECT id, name, username, last_used_at FROM web_tokens WHERE token_hash = ?")
      .get(sha256(token)) as {
      id: number;
      name: string;
      username: string;
      last_used_at: number | null;
    } | null;
    if (!row) return undefined;
    // Recorded to the minute: a script polling the API must not write the DB per request.
    const t = this.now();
    if (touch && (row.last_used_at === null || t - row.last_used_at > 60_000)) {
      this.db.query("UPDATE web_tokens SET last_used_at = ? WHERE id = ?").run(t, row.id);
    }
    return { username: row.username, via: "token", tokenName: row.name };
  }
}

let dummyHash: string | undefined;
/** An argon2id hash of a random string, verified against for unknown users (equal timing). */
function dummy(): string {
  dummyHash ??= Bun.password.hashSync(randomToken(), { algorithm: "argon2id" });
  return dummyHash;
}
