import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "bun";
import { silentLogger } from "../../src/core/log.ts";
import { loadSettings } from "../../src/core/settings.ts";
import { openStore } from "../../src/store/store.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { parseAppLine } from "../../src/web/log-source.ts";
import { startWebServer, type WebServer } from "../../src/web/server.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir, uniquePrefix } from "../support/tmp.ts";

const ROOT = join(import.meta.dir, "..", "..");
const dir = tempDir("ne-web-main-");
const dbPath = join(dir.path, "ne.db");
let redis: RedisServer;

beforeAll(async () => {
  redis = await new RedisServer().start();
});

afterAll(async () => {
  await redis?.shutdown();
  dir.cleanup();
});

/** Runs `ne-web ARGS` from source with `stdin`; returns exit code and output. */
async function neWeb(
  args: string[],
  stdin = "",
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const p = spawn([process.execPath, "run", "src/web/main.ts", ...args], {
    cwd: ROOT,
    env: { ...process.env, NE_DB: dbPath, NE_REDIS_URL: redis.url, ...env },
    stdin: new TextEncoder().encode(stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { code, out, err };
}

test("web settings: loopback by default, host:port parsed, TLS needs cert and key", () => {
  const d = loadSettings({});
  expect(d.webListen).toEqual({ host: "127.0.0.1", port: 8080 });
  expect(d.webAuth).toBe("on");
  expect(d.webTls).toBeUndefined();
  expect(loadSettings({ NE_WEB_LISTEN: "0.0.0.0:8443" }).webListen).toEqual({
    host: "0.0.0.0",
    port: 8443,
  });
  expect(loadSettings({ NE_WEB_LISTEN: "[::1]:9000" }).webListen).toEqual({
    host: "::1",
    port: 9000,
  });
  expect(() => loadSettings({ NE_WEB_LISTEN: "8080" })).toThrow(/NE_WEB_LISTEN/);
  expect(() => loadSettings({ NE_WEB_TLS_CERT: "/c.pem" })).toThrow(/set together/);
  expect(() => loadSettings({ NE_WEB_ADMIN_PASSWORD: "short" })).toThrow(/NE_WEB_ADMIN_PASSWORD/);
});

test("an NE_DB path that does not exist: ne-web and its commands exit 78 and create nothing", async () => {
  const folder = join(dir.path, "none");
  mkdirSync(folder);
  const db = join(folder, "nodi-edge.db");
  const msg = `ne-web: no database at ${db} (NE_DB); create it with nodi-edge db init (the package's postinst does), or set NE_DB to the existing database\n`;
  for (const [args, stdin] of [
    [[], ""],
    [["passwd", "admin"], "a long password\n"],
    [["users"], ""],
  ] as const) {
    const r = await neWeb([...args], stdin, { NE_DB: db, NE_WEB_LISTEN: "127.0.0.1:1" });
    expect({ args, code: r.code, err: r.err }).toEqual({ args, code: 78, err: msg });
  }
  expect(readdirSync(folder)).toEqual([]);
}, 60_000);

test("ne-web --help: usage on stdout, exit 0; a bad setting: one line naming it, exit 78", async () => {
  const help = await neWeb(["--help"]);
  expect(help.code).toBe(0);
  expect(help.out).toStartWith("Usage: ne-web");
  expect(help.err).toBe("");
  const bad = await neWeb(["users"], "", { NE_REDIS_URL: "localhost:6379" });
  expect(bad.code).toBe(78);
  expect(bad.err).toBe(
    'ne-web: invalid settings: NE_REDIS_URL: must be a URL like redis://127.0.0.1:6379, rediss://user:password@host:6380 or unix:///run/redis-nodi-edge/redis-server.sock (got "localhost:6379")\n',
  );
}, 60_000);

test("ne-web passwd, users and token commands manage credentials in the SoT", async () => {
  openStore(dbPath).close(); // `nodi-edge db init` (the postinst): ne-web never creates the SoT
  const short = await neWeb(["passwd", "bob"], "short\n");
  expect(short.code).toBe(65);
  expect(short.err).toContain("at least 8 characters");
  const pw = await neWeb(["passwd", "bob"], "bob's long password\n");
  expect(pw.code).toBe(0);
  expect((await neWeb(["users"])).out.trim()).toBe("bob");
  const tok = await neWeb(["token", "create", "ci", "--user", "bob"]);
  expect(tok.code).toBe(0);
  expect(tok.out.trim()).toMatch(/^ne_[A-Za-z0-9_-]{43}$/);
  expect((await neWeb(["token", "list"])).out).toContain("ci\tbob\tlast used never");
  expect((await neWeb(["token", "revoke", "ci"])).code).toBe(0);
  expect((await neWeb(["token", "revoke", "ci"])).code).not.toBe(0);
  expect((await neWeb(["no-such-command"])).code).toBe(64);
  const store = openStore(dbPath);
  const row = store.db
    .query("SELECT password_hash FROM web_users WHERE username = 'bob'")
    .get() as {
    password_hash: string;
  };
  store.close();
  expect(row.password_hash).toStartWith("$argon2id$");
}, 60_000);

test("with TLS the UI is served over HTTPS, the cookie is Secure and HSTS is sent", async () => {
  const cert = join(dir.path, "cert.pem");
  const key = join(dir.path, "key.pem");
  const gen = spawn(
    [
      "openssl",
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
    ],
    { stdout: "ignore", stderr: "ignore" },
  );
  expect(await gen.exited).toBe(0);
  const store = openStore(join(dir.path, "tls.db"));
  const bus: RedisTagBus = await createRedisTagBus({
    url: redis.url,
    prefix: uniquePrefix("tls"),
    producer: "web",
  });
  let web: WebServer | undefined;
  try {
    web = startWebServer({ store, bus, logger: silentLogger }, { port: 0, tls: { cert, key } });
    expect(web.url).toStartWith("https://");
    await web.app.auth.setPassword("admin", "tls password 1");
    const res = await fetch(`${web.url}/api/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "admin", password: "tls password 1" }),
      tls: { rejectUnauthorized: false },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("set-cookie")).toContain("Secure");
    expect(res.headers.get("strict-transport-security")).toContain("max-age=");
  } finally {
    await web?.stop();
    await bus.close(500);
    store.close();
  }
}, 60_000);

test("journald lines: the app's pino JSON becomes level, time and message", () => {
  const l = parseAppLine(
    '{"level":50,"time":"2026-01-02T03:04:05.000Z","name":"ne-intf","conn":"m1","block":"hr","msg":"read failed"}',
  );
  expect(l).toEqual({
    ts: Date.parse("2026-01-02T03:04:05.000Z"),
    level: "error",
    msg: "read failed block=hr",
  });
  expect(parseAppLine("plain text", 5)).toEqual({ ts: 5, msg: "plain text" });
});

test("with NE_WEB_AUTH=off requests act as anonymous, but only for IP or localhost addresses", async () => {
  const store = openStore(join(dir.path, "off.db"));
  const bus = await createRedisTagBus({
    url: redis.url,
    prefix: uniquePrefix("off"),
    producer: "web",
  });
  const web = startWebServer({ store, bus, logger: silentLogger, auth: "off" }, { port: 0 });
  try {
    const s = await fetch(`${web.url}/api/session`);
    expect(((await s.json()) as { username: string }).username).toBe("anonymous");
    const add = await fetch(`${web.url}/api/connections`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        conn_id: "m1",
        protocol: "modbus-tcp",
        host: "127.0.0.1",
        port: 502,
        unit_id: 1,
      }),
    });
    expect(add.status).toBe(201);
    const rebound = await fetch(`${web.url}/api/connections`, {
      headers: { host: `evil.example:${web.port}` },
    });
    expect(rebound.status).toBe(403);
  } finally {
    await web.stop();
    await bus.close(500);
    store.close();
  }
});
