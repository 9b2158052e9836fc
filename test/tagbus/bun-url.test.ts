import { expect, test } from "bun:test";
import { bunRedisUrl } from "../../src/tagbus/connection.ts";

// NE_REDIS_URL's unix:// form (node-redis's) is rewritten into the one Bun's RedisClient parses.
test("unix:// URLs become redis+unix://…@localhost/path, the database returned apart", () => {
  expect(bunRedisUrl("unix:///run/r.sock")).toEqual({
    url: "redis+unix://localhost/run/r.sock",
    db: 0,
  });
  expect(bunRedisUrl("unix://:pw@/run/r.sock")).toEqual({
    url: "redis+unix://:pw@localhost/run/r.sock",
    db: 0,
  });
  expect(bunRedisUrl("unix://edge:pw@/run/r.sock?db=3")).toEqual({
    url: "redis+unix://edge:pw@localhost/run/r.sock",
    db: 3,
  });
});

test("redis:// and rediss:// pass unchanged", () => {
  expect(bunRedisUrl("redis://u:p@127.0.0.1:6379/2")).toEqual({
    url: "redis://u:p@127.0.0.1:6379/2",
    db: 0,
  });
  expect(bunRedisUrl("rediss://h:6380")).toEqual({ url: "rediss://h:6380", db: 0 });
});
