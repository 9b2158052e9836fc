import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { CliBus } from "../../src/cli/context.ts";
import type { TagSample } from "../../src/core/tag-value.ts";
import { openStore } from "../../src/store/store.ts";
import { runCli } from "../support/run-cli.ts";
import { tempDir } from "../support/tmp.ts";

/** `nodi-edge device list|add|rm` and the devices in `conn show` (issue 14). */
const dir = tempDir("ne-cli-dev-");
afterAll(() => dir.cleanup());
const db = join(dir.path, "sot.sqlite");
const published: TagSample[] = [];
const bus: CliBus = {
  publish: async (s) => {
    published.push(...s);
  },
  close: async () => true,
};
const cli = (...argv: string[]) =>
  runCli(argv, { env: { NE_DB: db }, busFactory: async () => bus });

test("add, list, show and remove devices; a device its blocks name cannot be removed", async () => {
  const s = openStore(db);
  s.apply({
    origin: "test",
    put: [
      {
        connection: { conn_id: "line1", protocol: "modbus-rtu", serial_device: "/dev/ttyUSB0" },
        blocks: [],
        tags: [],
      },
    ],
  });
  s.close();
  expect((await cli("device", "add", "line1", "meter3", "--unit-id", "3")).code).toBe(0);
  expect(published.map((p) => p.path)).toEqual(["/system/line1/config_reload"]);
  expect(
    (await cli("device", "add", "line1", "meter4", "--unit-id", "4", "--description", "B")).code,
  ).toBe(0);
  // a bad unit id: refused, located, nothing changed
  const bad = await cli("device", "add", "line1", "meter5", "--unit-id", "300");
  expect(bad.code).toBe(65);
  expect(bad.err).toContain("device line1/meter5 (unit_id): unit_id must be at most 255, got 300");
  const list = await cli("device", "list", "--json");
  expect(JSON.parse(list.out)).toEqual([
    {
      conn_id: "line1",
      device: "meter3",
      unit_id: 3,
      description: "",
      profile: null,
      blocks: 0,
      tags: 0,
    },
    {
      conn_id: "line1",
      device: "meter4",
      unit_id: 4,
      description: "B",
      profile: null,
      blocks: 0,
      tags: 0,
    },
  ]);
  // a block on meter3, then conn show lists the devices and each block's device
  const s2 = openStore(db);
  const cfg = s2.getConnectionConfig("line1")!;
  s2.apply({
    origin: "test",
    put: [
      {
        ...cfg,
        blocks: [
          {
            conn_id: "line1",
            block_id: "m3",
            device: "meter3",
            table: "input_registers",
            count: 2,
            period_ms: 1000,
          },
        ],
        tags: [],
      },
    ],
  });
  s2.close();
  const show = await cli("conn", "show", "line1");
  expect(show.out).toContain("devices (2):");
  expect(show.out).toMatch(/m3\s+meter3\s+input_registers/);
  const refused = await cli("device", "rm", "line1", "meter3");
  expect(refused.code).toBe(65);
  expect(refused.err).toContain('no device "meter3" in connection "line1"');
  expect((await cli("device", "rm", "line1", "meter4")).code).toBe(0);
  expect((await cli("device", "rm", "line1", "meter9")).code).toBe(66);
  expect((await cli("device", "list", "line1")).out).toMatch(/meter3\s+3\s+1\s+0/);
});
