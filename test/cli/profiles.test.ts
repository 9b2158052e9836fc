import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { CliBus } from "../../src/cli/context.ts";
import type { TagSample } from "../../src/core/tag-value.ts";
import { openStore } from "../../src/store/store.ts";
import { runCli } from "../support/run-cli.ts";
import { tempDir } from "../support/tmp.ts";

/** `nodi-edge profile list|show|add|remove` and `device add --profile` (issue 14). */
const dir = tempDir("ne-cli-prof-");
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
const SDM630 = join(import.meta.dir, "../../examples/profiles/eastron-sdm630");
const ATV320 = join(import.meta.dir, "../../examples/profiles/schneider-atv320");

test("add the shipped profiles, make devices instances, show, and a profile in use is not removed", async () => {
  const s = openStore(db);
  for (const id of ["bus1", "bus2"]) {
    s.apply({
      origin: "test",
      put: [
        {
          connection: { conn_id: id, protocol: "modbus-rtu", serial_device: `/dev/tty-${id}` },
          blocks: [],
          tags: [],
        },
      ],
    });
  }
  s.close();
  const dry = await cli("profile", "add", SDM630, "--dry-run");
  expect(dry.code).toBe(0);
  expect(dry.out).toContain("dry run, nothing changed");
  expect((await cli("profile", "list", "--json")).out).toBe("[]\n");
  const added = await cli("profile", "add", SDM630, ATV320);
  expect(added.code).toBe(0);
  expect(added.out).toContain("profile eastron-sdm630  created");
  // only profile files
  const wrong = await cli("profile", "add", join(import.meta.dir, "../../examples/demo"));
  expect(wrong.code).not.toBe(0);
  expect(wrong.err).toContain("profile add takes profiles.csv");

  for (const u of [1, 2, 3]) {
    const r = await cli(
      "device",
      "add",
      "bus1",
      `m${u}`,
      "--unit-id",
      String(u),
      "--profile",
      "eastron-sdm630",
    );
    expect(r.code).toBe(0);
  }
  const unknown = await cli("device", "add", "bus2", "x", "--unit-id", "1", "--profile", "nosuch");
  expect(unknown.code).toBe(65);
  expect(unknown.err).toContain('device bus2/x (profile): no profile "nosuch"');

  const list = JSON.parse((await cli("profile", "list", "--json")).out);
  expect(list.map((p: { profile: string; instances: number }) => [p.profile, p.instances])).toEqual(
    [
      ["eastron-sdm630", 3],
      ["schneider-atv320", 0],
    ],
  );
  const text = (await cli("profile", "list")).out;
  expect(text.split("\n")[0]).toMatch(/^profile\s+blocks\s+tags\s+instances\s+description$/);
  const show = await cli("profile", "show", "eastron-sdm630");
  expect(show.out).toContain("blocks (3):");
  expect(show.out).toContain("voltage_l1");
  expect(show.out).toMatch(/bus1\s+m2\s+2/);
  // conn show: the devices with their profile, the instances' blocks and tags expanded
  const conn = (await cli("conn", "show", "bus1")).out;
  expect(conn).toMatch(/m2\s+2\s+eastron-sdm630/);
  expect(conn).toContain("m3/voltage_l1");
  const dev = JSON.parse((await cli("device", "list", "bus1", "--json")).out);
  expect(dev[0]).toMatchObject({ device: "m1", profile: "eastron-sdm630", blocks: 3, tags: 37 });

  published.length = 0;
  // re-adding the same files: nothing changes, nothing announced
  await cli("profile", "add", SDM630);
  expect(published).toEqual([]);

  const inUse = await cli("profile", "remove", "eastron-sdm630");
  expect(inUse.code).toBe(65);
  expect(inUse.err).toContain("bus1/m1, bus1/m2, bus1/m3");
  expect((await cli("profile", "rm", "schneider-atv320")).code).toBe(0);
  expect((await cli("profile", "show", "schneider-atv320")).code).toBe(66);
  for (const u of [1, 2, 3]) expect((await cli("device", "rm", "bus1", `m${u}`)).code).toBe(0);
  expect((await cli("profile", "remove", "eastron-sdm630")).code).toBe(0);
});
