// Attacks found by an adversarial pass over ne-web, each with the exact input that broke it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { silentLogger } from "../../src/core/log.ts";
import { MAX_STREAMS_PER_CALLER } from "../../src/web/api/live.ts";
import { startWebServer, type WebServer } from "../../src/web/server.ts";
import { PasswordThrottle } from "../../src/web/throttle.ts";
import { Client, modbusConn, startWebFixture, until, type WebFixture } from "./helpers.ts";

let fx: WebFixture;
let c: Client;
let token: string;

beforeAll(async () => {
  // The throttle's clock stands still: its back-off (1 s, 2 s, …) never runs out during a
  // test, however slow the password hashes are under load.
  fx = await startWebFixture("admin", "correct horse", { throttle: new PasswordThrottle(() => 0) });
  await fx.web.app.auth.setPassword("eve", "eve's password");
  await fx.web.app.auth.setPassword("mallory", "mallory's password");
  c = new Client(fx.web.url);
  expect((await c.login("admin", "correct horse")).status).toBe(200);
  expect((await c.call("POST", "/api/connections", modbusConn("plc-1"))).status).toBe(201);
  token = fx.web.app.auth.createToken("admin", "adversary");
});

afterAll(async () => {
  await fx?.close();
});

/** A raw HTTP/1.1 request over TCP, so the Host header can be anything. @returns the status. */
async function rawStatus(port: number, head: string): Promise<number> {
  let text = "";
  const { promise, resolve } = Promise.withResolvers<void>();
  const sock = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, d) {
        text += d.toString();
        if (text.includes("\r\n\r\n")) resolve();
      },
      close: () => resolve(),
      error: () => resolve(),
    },
  });
  sock.write(`${head}\r\nConnection: close\r\n\r\n`);
  await promise;
  sock.end();
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
}

describe("malformed requests are refused, not crashed on", () => {
  test("a session cookie that is not valid percent-encoding is a 401, not a 500", async () => {
    const r = await fetch(`${fx.web.url}/api/connections`, {
      headers: { cookie: "ne_session=%E0%A4%A" },
    });
    expect(r.status).toBe(401);
    expect(((await r.json()) as { error: { reason: string } }).error.reason).toBe(
      "unauthenticated",
    );
  });

  test("an unparsable Host header is a 400, not a 500", async () => {
    const port = fx.web.port;
    expect(await rawStatus(port, "GET /api/connections HTTP/1.1\r\nHost: a:b")).toBe(400);
    expect(await rawStatus(port, "GET / HTTP/1.1\r\nHost: 1.2.3.4.5")).toBe(400);
  });

  test("a deeply nested JSON value is a 400 bad_json and changes nothing", async () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const r = await fetch(`${fx.web.url}/api/connections/plc-1`, {
      method: "PUT",
      headers: { cookie: c.cookie, "x-csrf-token": c.csrf, "content-type": "application/json" },
      body: `{"description":${deep}}`,
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { reason: string } }).error.reason).toBe("bad_json");
    expect(fx.store.getConnection("plc-1")?.description).toBe("");
  });

  test("an unbounded chunked body (no Content-Length) to the public login is cut off early", async () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(ctl) {
        pulled += 65536;
        if (pulled > 256 * 1024 * 1024) ctl.close();
        else ctl.enqueue(new Uint8Array(65536).fill(32));
      },
    });
    let status = 0;
    try {
      const r = await fetch(`${fx.web.url}/api/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        duplex: "half",
      } as RequestInit);
      status = r.status;
    } catch {
      status = -1; // the server may close the connection while the client still sends
    }
    expect(status === 413 || status === -1).toBe(true);
    expect(pulled).toBeLessThan(32 * 1024 * 1024);
  });
});

describe("login throttling", () => {
  test("concurrent wrong passwords cannot get past the five-failure limit", async () => {
    const attempt = () =>
      fetch(`${fx.web.url}/api/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "eve", password: "guess guess" }),
      }).then((r) => r.status);
    const statuses = await Promise.all(Array.from({ length: 12 }, attempt));
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(7);
    expect(await attempt()).toBe(429);
  });

  test("guessing the current password through /api/password is throttled too", async () => {
    const m = new Client(fx.web.url);
    expect((await m.login("mallory", "mallory's password")).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await m.call("POST", "/api/password", {
        current: `guess ${i}`,
        new: "x".repeat(9),
      });
      statuses.push(r.status);
    }
    expect(statuses.slice(0, 5)).toEqual([403, 403, 403, 403, 403]);
    expect(statuses.slice(5)).toEqual([429, 429]);
  });
});

describe("live streams end with their credentials and are capped", () => {
  async function openStream(headers: Record<string, string>) {
    const ctl = new AbortController();
    const res = await fetch(`${fx.web.url}/api/connections/plc-1/stream`, {
      headers,
      signal: ctl.signal,
    });
    let ended = false;
    if (res.ok) {
      const reader = res.body!.getReader();
      void (async () => {
        try {
          while (!(await reader.read()).done) {}
        } catch {
          // aborted
        }
        ended = true;
      })();
    }
    return { res, ctl, ended: () => ended };
  }

  test("logging out closes the session's open event stream", async () => {
    const u = new Client(fx.web.url);
    expect((await u.login("admin", "correct horse")).status).toBe(200);
    const s = await openStream({ cookie: u.cookie });
    expect(s.res.status).toBe(200);
    expect((await u.call("POST", "/api/logout")).status).toBe(200);
    await until("the stream to end after logout", () => s.ended(), 8000);
    s.ctl.abort();
  }, 15_000);

  test("revoking a token closes its open event stream", async () => {
    const t = fx.web.app.auth.createToken("admin", "short-lived");
    const s = await openStream({ authorization: `Bearer ${t}` });
    expect(s.res.status).toBe(200);
    expect(fx.web.app.auth.revokeToken("short-lived")).toBe(true);
    await until("the stream to end after revocation", () => s.ended(), 8000);
    s.ctl.abort();
  }, 15_000);

  test("one caller cannot open event streams without end", async () => {
    const auth = { authorization: `Bearer ${token}` };
    const open = [];
    for (let i = 0; i < MAX_STREAMS_PER_CALLER; i++) {
      const s = await openStream(auth);
      expect(s.res.status).toBe(200);
      open.push(s);
    }
    const over = await openStream(auth);
    expect(over.res.status).toBe(429);
    expect(((await over.res.json()) as { error: { reason: string } }).error.reason).toBe(
      "too_many_streams",
    );
    // another caller is not starved
    const other = await openStream({ cookie: c.cookie });
    expect(other.res.status).toBe(200);
    other.ctl.abort();
    // closing one frees its place
    open[0]!.ctl.abort();
    const again = await until("a free stream place", async () => {
      const s = await openStream(auth);
      return s.res.status === 200 ? s : undefined;
    });
    again?.ctl.abort();
    for (const s of open) s.ctl.abort();
  }, 15_000);
});

describe("NE_WEB_AUTH=off: Host check", () => {
  let off: WebServer;
  beforeAll(() => {
    off = startWebServer(
      { store: fx.store, bus: fx.bus, logger: silentLogger, auth: "off" },
      { port: 0 },
    );
  });
  afterAll(async () => {
    await off?.stop();
  });

  test("only IP literals and localhost are served; a host name with an empty port is not", async () => {
    const p = off.port;
    const get = (host: string) => rawStatus(p, `GET /api/connections HTTP/1.1\r\nHost: ${host}`);
    expect(await get(`127.0.0.1:${p}`)).toBe(200);
    expect(await get(`localhost:${p}`)).toBe(200);
    expect(await get(`[::1]:${p}`)).toBe(200);
    expect(await get(`evil.example:${p}`)).toBe(403);
    expect(await get("evil.example:")).toBe(403);
    expect(await get(`127.0.0.1.nip.io:${p}`)).toBe(403);
  });
});
