import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import http from "node:http";
import { HttpError } from "../../src/web/http.ts";
import {
  BACKOFF_MAX_MS,
  FORGET_MS,
  GLOBAL_FAILS_PER_MINUTE,
  PasswordThrottle,
  SOURCE_FREE_FAILS,
} from "../../src/web/throttle.ts";
import { startWebFixture, type WebFixture } from "./helpers.ts";

// Five bad logins for admin from anywhere used to make the right password fail for 5 minutes
// from everywhere. The throttle is per source (client address) with back-off instead.

/** The Retry-After (s) of the refusal of `f`, or 0 when it is not refused. */
function refusedFor(f: () => void): number {
  try {
    f();
    return 0;
  } catch (e) {
    if (!(e instanceof HttpError) || e.status !== 429) throw e;
    return Number(e.headers["retry-after"]);
  }
}

describe("PasswordThrottle (its own clock)", () => {
  test("a source is slowed with increasing delay; another source is not", () => {
    let t = 1_000_000;
    const th = new PasswordThrottle(() => t);
    for (let i = 0; i < 5; i++) expect(refusedFor(() => th.begin("10.0.0.66", "admin"))).toBe(0);
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const w = refusedFor(() => th.begin("10.0.0.66", "admin"));
      waits.push(w);
      expect(refusedFor(() => th.begin("10.0.0.5", "admin"))).toBe(0); // the owner, elsewhere
      th.succeeded("10.0.0.5", "admin");
      t += w * 1000 - 1;
      expect(refusedFor(() => th.begin("10.0.0.66", "admin"))).toBe(1); // 1 ms early
      t += 1;
      expect(refusedFor(() => th.begin("10.0.0.66", "admin"))).toBe(0); // counted: the next waits longer
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 32]);
  });

  test("the back-off is capped at 5 minutes and forgotten 15 minutes after the last failure", () => {
    let t = 0;
    const th = new PasswordThrottle(() => t);
    for (let i = 0; i < 40; i++) {
      const w = refusedFor(() => th.begin("a", "admin"));
      t += w * 1000;
      if (w > 0) expect(refusedFor(() => th.begin("a", "admin"))).toBe(0);
    }
    expect(refusedFor(() => th.begin("a", "admin"))).toBe(BACKOFF_MAX_MS / 1000);
    t += FORGET_MS;
    for (let i = 0; i < 5; i++) expect(refusedFor(() => th.begin("a", "admin"))).toBe(0);
  });

  test("a right password clears its user's count at that source only", () => {
    const th = new PasswordThrottle(() => 0);
    for (let i = 0; i < 5; i++) th.begin("a", "admin");
    th.begin("a", "eve");
    th.succeeded("a", "eve"); // eve's login from a does not let a guess admin again
    expect(refusedFor(() => th.begin("a", "admin"))).toBe(1);
    th.begin("b", "admin");
    th.succeeded("b", "admin");
    expect(refusedFor(() => th.begin("a", "admin"))).toBe(1);
  });

  test("a spray of usernames from one source backs off after 20 failures", () => {
    let t = 0;
    const th = new PasswordThrottle(() => t);
    for (let i = 0; i < SOURCE_FREE_FAILS; i++) {
      expect(refusedFor(() => th.begin("a", `user${i}`))).toBe(0);
    }
    expect(refusedFor(() => th.begin("a", "admin"))).toBe(1);
    expect(refusedFor(() => th.begin("b", "admin"))).toBe(0);
    t += 1000;
    expect(refusedFor(() => th.begin("a", "admin"))).toBe(0);
  });

  test("global ceiling: many sources with failures are held for the minute, a clean one is not", () => {
    let t = 0;
    const th = new PasswordThrottle(() => t);
    for (let i = 0; i < GLOBAL_FAILS_PER_MINUTE; i++) th.begin(`10.1.0.${i}`, "admin");
    expect(refusedFor(() => th.begin("10.1.0.1", "admin"))).toBe(60);
    expect(refusedFor(() => th.begin("10.9.9.9", "admin"))).toBe(0); // no failure on record
    th.succeeded("10.9.9.9", "admin");
    t += 60_000;
    expect(refusedFor(() => th.begin("10.1.0.1", "admin"))).toBe(0);
  });
});

describe("login over HTTP from two client addresses", () => {
  let fx: WebFixture;
  beforeAll(async () => {
    // A clock that stands still: the back-off never runs out during the test under load.
    fx = await startWebFixture("admin", "correct horse", {
      throttle: new PasswordThrottle(() => 0),
    });
  });
  afterAll(async () => {
    await fx?.close();
  });

  /** POST /api/login from the local address `from` (127.0.0.0/8 is all loopback on Linux). */
  function login(
    from: string,
    password: string,
  ): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
    const body = JSON.stringify({ username: "admin", password });
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port: fx.web.port,
          path: "/api/login",
          method: "POST",
          localAddress: from,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
          },
        },
        (res) => {
          let text = "";
          res.on("data", (c) => {
            text += c;
          });
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              retryAfter: res.headers["retry-after"] as string | undefined,
              body: text,
            }),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  test("many bad logins from A; the right password from B succeeds; A is refused with Retry-After", async () => {
    const a: number[] = [];
    for (let i = 0; i < 8; i++) a.push((await login("127.0.0.2", `guess ${i}`)).status);
    expect(a).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    const refused = await login("127.0.0.2", "correct horse");
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBe("1");
    expect(JSON.parse(refused.body).error.message).toBe(
      "too many failed attempts from 127.0.0.2; try again in 1 s",
    );
    expect((await login("127.0.0.3", "correct horse")).status).toBe(200);
  });
});
