import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CliBus } from "../../src/cli/context.ts";
import type { TagSample } from "../../src/core/tag-value.ts";
import { AuditTrail } from "../../src/store/audit.ts";
import { openStore } from "../../src/store/store.ts";
import { runCli } from "../support/run-cli.ts";
import { tempDir } from "../support/tmp.ts";

/** `nodi-edge import --kepware FILE --conn ID` (issue 14) on the hand-made export. */
const dir = tempDir("ne-cli-kep-");
afterAll(() => dir.cleanup());
const FIXTURE = join(import.meta.dir, "..", "loader", "fixtures", "kepware-pump.csv");
const published: TagSample[] = [];
const bus: CliBus = {
  publish: async (s) => {
    published.push(...s);
  },
  close: async () => true,
};
let n = 0;
/** A fresh database with Modbus connection plc1 (and `extra` fields), device pump2 on it. */
function freshDb(extra: Record<string, unknown> = {}): string {
  const base = extra.address_base === 1 ? 1 : 0;
  const db = join(dir.path, `sot-${n++}.sqlite`);
  const s = openStore(db, { create: true });
  s.apply({
    origin: "test",
    put: [
      {
        connection: {
          conn_id: "plc1",
          protocol: "modbus-tcp",
          host: "127.0.0.1",
          port: 502,
          ...extra,
        },
        devices: [{ conn_id: "plc1", device: "pump2", unit_id: 2 }],
        blocks: [
          {
            conn_id: "plc1",
            block_id: "hr",
            table: "holding_registers",
            address: base,
            count: 2,
            period_ms: 1000,
          },
        ],
        tags: [
          { conn_id: "plc1", tag_name: "Mode", block_id: "hr", address: base, data_type: "int16" },
          {
            conn_id: "plc1",
            tag_name: "Other",
            block_id: "hr",
            address: base + 1,
            data_type: "int16",
          },
        ],
      },
    ],
  });
  s.close();
  return db;
}
const cli = (db: string, ...argv: string[]) =>
  runCli(argv, { env: { NE_DB: db }, busFactory: async () => bus });
const storedTags = (db: string) => {
  const s = openStore(db);
  try {
    return s.getStoredConfig("plc1")!.tags;
  } finally {
    s.close();
  }
};
const journalLength = (db: string) => {
  const s = openStore(db);
  try {
    return s.journal().length;
  } finally {
    s.close();
  }
};

test("unmappable rows refuse the import unless --skip-unmappable; nothing is written", async () => {
  const db = freshDb();
  const before = journalLength(db);
  const r = await cli(db, "import", "--kepware", FIXTURE, "--conn", "plc1");
  expect(r.code).toBe(65);
  expect(r.err).toContain("3 row(s) cannot be mapped (17 can)");
  expect(r.err).toContain(
    "kepware-pump.csv:10:7 (Scaling): Flow: Square Root scaling has no equivalent",
  );
  expect(r.err).toContain("kepware-pump.csv:16:3 (Data Type): Info.Code: Kepware Char");
  expect(r.err).toContain(
    "kepware-pump.csv:21:2 (Address): Matrix: two-dimensional arrays ([rows][columns]) have no equivalent",
  );
  expect(storedTags(db).map((t) => t.tag_name)).toEqual(["Mode", "Other"]);
  expect(journalLength(db)).toBe(before);
});

test("--dry-run writes nothing and prints what would be imported, skipped and warned", async () => {
  const db = freshDb();
  const before = journalLength(db);
  published.length = 0;
  const r = await cli(db, "import", "--kepware", FIXTURE, "--conn", "plc1", "--dry-run");
  expect(r.code).toBe(0);
  expect(r.out).toContain("dry run, nothing changed; the Kepware import would do:");
  expect(r.out).toContain("plc1  blocks_changed");
  expect(r.out).toContain(
    `17 auto tag(s) from ${FIXTURE} into plc1, 1 replacing a tag of the same name`,
  );
  expect(r.out).toContain(
    "3 row(s) not imported (no equivalent here); without --skip-unmappable the import refuses them:",
  );
  expect(r.out).toContain('renamed "Setpoint Temp" to "Setpoint_Temp"');
  expect(r.out).toContain("Clamp Low and Clamp High: values are not clamped here");
  expect(storedTags(db).map((t) => t.tag_name)).toEqual(["Mode", "Other"]);
  expect(journalLength(db)).toBe(before);
  expect(published).toEqual([]);
  // --json: the same, as data
  const j = await cli(db, "--json", "import", "--kepware", FIXTURE, "--conn", "plc1", "--dry-run");
  const data = JSON.parse(j.out);
  expect(data).toMatchObject({ ok: true, dryRun: true, conn_id: "plc1", replaced: ["Mode"] });
  expect(data.tags).toHaveLength(17);
  expect(data.unmappable.map((u: { name: string }) => u.name)).toEqual([
    "Flow",
    "Info.Code",
    "Matrix",
  ]);
});

test("--skip-unmappable imports the 17 mappable rows as auto tags, replaces Mode, keeps Other, announces", async () => {
  const db = freshDb();
  published.length = 0;
  const r = await cli(db, "import", "--kepware", FIXTURE, "--conn", "plc1", "--skip-unmappable");
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  expect(r.out).toContain("imported from Kepware:");
  expect(published.map((p) => p.path)).toEqual(["/system/plc1/config_reload"]);
  const tags = storedTags(db);
  expect(tags).toHaveLength(18);
  expect(tags[0]).toMatchObject({ tag_name: "Other", block_id: "hr" });
  const cur = tags.find((t) => t.tag_name === "Motor.Current")!;
  expect(cur).toMatchObject({
    block_id: null,
    table: "input_registers",
    scan_ms: 500,
    address: 0,
    data_type: "float32",
    byte_order: "CDAB",
    unit: "A",
  });
  expect(tags.find((t) => t.tag_name === "Mode")).toMatchObject({
    block_id: null,
    table: "holding_registers",
    address: 59,
    data_type: "uint16",
  });
  // the audit trail names the import, its file, counts and the rows left out
  const a = openStore(db);
  try {
    const [entry] = new AuditTrail(a.db, "test").list({ action: "kepware.import" });
    expect(entry).toMatchObject({
      target: "plc1",
      result: "done",
      recorded_by: "nodi-edge",
      detail: { file: FIXTURE, tags: 17, replaced: 1, skipped: ["Flow", "Info.Code", "Matrix"] },
    });
  } finally {
    a.close();
  }
  // the same file again changes nothing
  published.length = 0;
  const again = await cli(
    db,
    "import",
    "--kepware",
    FIXTURE,
    "--conn",
    "plc1",
    "--skip-unmappable",
  );
  expect(again.code).toBe(0);
  expect(again.out).toContain("plc1  unchanged");
  expect(published).toEqual([]);
});

test("--device names the tags {device}/…; a one-based connection stores addresses + 1", async () => {
  const db = freshDb({ address_base: 1 });
  const r = await cli(
    db,
    "import",
    "--kepware",
    FIXTURE,
    "--conn",
    "plc1",
    "--device",
    "pump2",
    "--skip-unmappable",
  );
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  const t = storedTags(db).find((x) => x.tag_name === "pump2/Motor.Current")!;
  expect(t).toMatchObject({ table: "input_registers", address: 1 });
  const unknown = await cli(
    db,
    "import",
    "--kepware",
    FIXTURE,
    "--conn",
    "plc1",
    "--device",
    "nope",
  );
  expect(unknown.code).toBe(64);
  expect(unknown.err).toContain('connection "plc1" has no device "nope" (its devices: pump2)');
});

test("refusals: bad rows, a tag the connection cannot read, usage", async () => {
  const db = freshDb({ max_registers_per_request: 8 });
  // the 20-byte serial number and the ten-word array (10 registers each) do not fit one
  // request of 8 registers
  const r = await cli(db, "import", "--kepware", FIXTURE, "--conn", "plc1", "--skip-unmappable");
  expect(r.code).toBe(65);
  expect(r.err).toContain("nodi-edge import: refused, nothing was changed; 2 error(s):");
  expect(r.err).toMatch(
    /kepware-pump\.csv:14:2 \(Address\): an auto tag must fit one read request/,
  );
  expect(r.err).toMatch(
    /kepware-pump\.csv:17:2 \(Address\): an auto tag must fit one read request/,
  );
  const bad = join(dir.path, "bad.csv");
  writeFileSync(bad, 'Tag Name,Address,Data Type\n"A","40001","Int"\n"B","D100","Word"\n');
  const b = await cli(db, "import", "--kepware", bad, "--conn", "plc1");
  expect(b.code).toBe(65);
  expect(b.err).toContain("bad.csv:2:3 (Data Type): expected a Kepware data type");
  expect(b.err).toContain("bad.csv:3:2 (Address): expected a Kepware Modbus address");
  expect((await cli(db, "import", "--kepware", FIXTURE)).code).toBe(64);
  expect((await cli(db, "import", "--kepware", FIXTURE, "--conn", "nope")).code).toBe(66);
  expect((await cli(db, "import", "--kepware", FIXTURE, "--conn", "plc1", "x")).code).toBe(64);
  expect((await cli(db, "import", "--conn", "plc1", dir.path)).code).toBe(64);
  expect(storedTags(db).map((t) => t.tag_name)).toEqual(["Mode", "Other"]);
});

test("the plan the file yields: per table and scan rate, gaps up to max_gap_registers read through", async () => {
  const db = freshDb();
  const plan = async (...extra: string[]) => {
    const r = await cli(
      db,
      "--json",
      "import",
      "--kepware",
      FIXTURE,
      "--conn",
      "plc1",
      "--dry-run",
      ...extra,
    );
    expect(r.code).toBe(0);
    const requests = JSON.parse(r.out).plan.requests as {
      block_id: string;
      first: number;
      count: number;
      tags: string[];
    }[];
    return requests.map((b) => [b.block_id, b.first, b.count, b.tags.join(" ")]);
  };
  // the file's scan rates (Mode replaces the explicit block's tag; Other stays in block hr)
  expect(await plan()).toEqual([
    ["hr", 0, 2, "Other"],
    ["auto._.co.100.0", 0, 1, "Run"],
    ["auto._.di.100.0", 0, 1, "Fault"],
    ["auto._.hr.100.0", 0, 1, "Motor.SpeedSetpoint"],
    ["auto._.hr.100.9", 9, 1, "Status.Ready Status.Alarm"],
    ["auto._.hr.250.60", 60, 1, "Line.Level"],
    ["auto._.hr.1000.49", 49, 2, "Setpoint_Temp"],
    ["auto._.hr.1000.59", 59, 1, "Mode"],
    ["auto._.hr.1000.199", 199, 10, "Trend"],
    ["auto._.hr.5000.19", 19, 8, "Energy.Total Energy.Hours Energy.Pulses"],
    ["auto._.hr.10000.99", 99, 14, "Info.Serial Info.Firmware"],
    ["auto._.ir.500.0", 0, 4, "Motor.Current Motor.Torque"],
    ["auto._.ir.1000.2", 2, 1, "Motor.Temperature"],
  ]);
  // one rate for all (--scan-ms): the neighbours of one table merge
  expect(await plan("--scan-ms", "1000")).toEqual([
    ["hr", 0, 2, "Other"],
    ["auto._.co.1000.0", 0, 1, "Run"],
    ["auto._.di.1000.0", 0, 1, "Fault"],
    ["auto._.hr.1000.0", 0, 1, "Motor.SpeedSetpoint"],
    ["auto._.hr.1000.9", 9, 1, "Status.Ready Status.Alarm"],
    ["auto._.hr.1000.19", 19, 8, "Energy.Total Energy.Hours Energy.Pulses"],
    ["auto._.hr.1000.49", 49, 2, "Setpoint_Temp"],
    ["auto._.hr.1000.59", 59, 2, "Mode Line.Level"],
    ["auto._.hr.1000.99", 99, 14, "Info.Serial Info.Firmware"],
    ["auto._.hr.1000.199", 199, 10, "Trend"],
    ["auto._.ir.1000.0", 0, 4, "Motor.Current Motor.Temperature Motor.Torque"],
  ]);
  const text = await cli(db, "import", "--kepware", FIXTURE, "--conn", "plc1", "--dry-run");
  expect(text.out).toContain("after the import:\nread requests of plc1: 13");
  expect(text.out).toMatch(
    /auto\._\.hr\.10000\.99\s+1\s+holding_registers\s+3\s+99–112\s+14\s+10000\s+2: Info.Serial Info.Firmware/,
  );
});

test("an export in the Windows code page: refused as UTF-8 with the hint, read with --encoding windows-1252", async () => {
  const db = freshDb();
  const ansi = join(dir.path, "ansi.csv");
  // "°C" as Windows-1252: B0 43
  const head = new TextEncoder().encode(
    'Tag Name,Address,Data Type,Eng Units\n"Temp","300001","Short","',
  );
  writeFileSync(ansi, new Uint8Array([...head, 0xb0, 0x43, 0x22, 0x0a]));
  const r = await cli(db, "import", "--kepware", ansi, "--conn", "plc1");
  expect(r.code).toBe(65);
  expect(r.err).toContain("ansi.csv:2:");
  expect(r.err).toContain("give --encoding windows-1252");
  const ok = await cli(
    db,
    "import",
    "--kepware",
    ansi,
    "--conn",
    "plc1",
    "--encoding",
    "windows-1252",
  );
  expect(ok.err).toBe("");
  expect(storedTags(db).find((t) => t.tag_name === "Temp")).toMatchObject({ unit: "°C" });
  expect(
    (await cli(db, "import", "--kepware", ansi, "--conn", "plc1", "--encoding", "latin9")).code,
  ).toBe(64);
});
