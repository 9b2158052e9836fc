import { expect, test } from "bun:test";
import { redactUrl } from "../../src/core/redact-url.ts";
import { loadSettings } from "../../src/core/settings.ts";

test("redactUrl hides the password of every URL form NE_REDIS_URL takes, and nothing else", () => {
  expect(redactUrl("redis://edge:s3cret@10.0.0.5:6379")).toBe("redis://edge:***@10.0.0.5:6379");
  expect(redactUrl("rediss://:s3cret@broker:6380/2")).toBe("rediss://:***@broker:6380/2");
  expect(redactUrl("unix://:s3cret@/run/r.sock?db=1")).toBe("unix://:***@/run/r.sock?db=1");
  expect(redactUrl("unix://edge:s3cret@/run/r.sock")).toBe("unix://edge:***@/run/r.sock");
  // A password holding '@' or '/' is hidden whole (the last '@' ends the user information).
  expect(redactUrl("redis://u:p@ss/w@host:1")).toBe("redis://u:***@host:1");
  // Nothing to hide.
  expect(redactUrl("redis://127.0.0.1:6379")).toBe("redis://127.0.0.1:6379");
  expect(redactUrl("unix:///run/redis-nodi-edge/redis-server.sock")).toBe(
    "unix:///run/redis-nodi-edge/redis-server.sock",
  );
  expect(redactUrl("redis://alice@host")).toBe("redis://alice@host");
  expect(redactUrl("not a url")).toBe("not a url");
});

test("NE_REDIS_URL takes unix:// sockets (with or without credentials) as @redis/client does", () => {
  for (const url of [
    "unix:///run/redis-nodi-edge/redis-server.sock",
    "unix://:pw@/run/r.sock",
    "unix://user:pw@/run/r.sock?db=2",
    "redis://user:pw@127.0.0.1:6379/0",
    "rediss://host:6380",
  ]) {
    expect(loadSettings({ NE_REDIS_URL: url }).redisUrl).toBe(url);
  }
  for (const url of ["unix://", "unix:///", "unix:/run/r.sock", "redis+unix:///run/r.sock"]) {
    expect(() => loadSettings({ NE_REDIS_URL: url })).toThrow(/NE_REDIS_URL: must be a URL/);
  }
});

test("a bad secret setting is named in the error, its value is not", () => {
  let msg = "";
  try {
    loadSettings({ NE_REDIS_URL: "redis://edge:s3cret@[bad" });
  } catch (e) {
    msg = (e as Error).message;
  }
  expect(msg).toContain('(got "redis://edge:***@[bad")');
  expect(msg).not.toContain("s3cret");
  try {
    loadSettings({ NE_WEB_ADMIN_PASSWORD: "short" });
  } catch (e) {
    msg = (e as Error).message;
  }
  expect(msg).toBe(
    'invalid settings: NE_WEB_ADMIN_PASSWORD: must be at least 8 characters (got "5 characters")',
  );
});
