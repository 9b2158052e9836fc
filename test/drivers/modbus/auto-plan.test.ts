import { describe, expect, test } from "bun:test";
import {
  type AutoBlock,
  planBlocks,
  type RefusedSpan,
  withAutoBlocks,
} from "../../../src/drivers/modbus/auto-plan.ts";
import type { Connection, ConnectionConfig, Tag } from "../../../src/store/schema.ts";
import { block, connection, tag } from "./helpers.ts";

/** The planner of automatic blocks (docs/modbus.md "Automatic blocks"), on literals. */

/** An auto tag: no block, `table` + `scan_ms`. */
function auto(
  name: string,
  address: number,
  over: Partial<Tag> = {},
  table: Tag["table"] = "holding_registers",
  scan = 500,
): Tag {
  return tag(name, "", address, { block_id: null, table, scan_ms: scan, ...over });
}

function cfg(tags: Tag[], over: Partial<Connection> = {}, extra: Partial<ConnectionConfig> = {}) {
  return {
    connection: connection({ max_gap_registers: 4, max_gap_bits: 16, ...over }),
    blocks: [],
    tags,
    ...extra,
  } as ConnectionConfig;
}

/** The plan as `[block_id, address, count, tags]` rows. */
const rows = (a: AutoBlock[]) => a.map((b) => [b.block_id, b.address, b.count, b.tags.join(" ")]);

const f32 = { data_type: "float32" } as const;

describe("planBlocks: merging", () => {
  test("contiguous tags of one table and scan rate become one block; ids name device, table, scan, address", () => {
    const p = planBlocks(cfg([auto("a", 0), auto("b", 1), auto("c", 2, f32)]));
    expect(rows(p.auto)).toEqual([["auto._.hr.500.0", 0, 4, "a b c"]]);
    expect(p.auto[0]).toMatchObject({ fc: 3, unit_id: 1, period_ms: 500, refused: false });
    expect(p.blocks).toEqual([
      {
        conn_id: "plc",
        block_id: "auto._.hr.500.0",
        table: "holding_registers",
        address: 0,
        count: 4,
        period_ms: 500,
        phase_ms: null,
        mode: null,
        enabled: true,
        description: "automatic block: 3 auto tags",
        device: null,
      },
    ]);
    expect(p.tags.map((t) => t.block_id)).toEqual(Array(3).fill("auto._.hr.500.0"));
  });

  test("a gap up to max_gap_registers is read through; one register more splits", () => {
    // b starts 4 registers after a ends: within the default gap of 4
    expect(rows(planBlocks(cfg([auto("a", 0), auto("b", 5)])).auto)).toEqual([
      ["auto._.hr.500.0", 0, 6, "a b"],
    ]);
    expect(rows(planBlocks(cfg([auto("a", 0), auto("b", 6)])).auto)).toEqual([
      ["auto._.hr.500.0", 0, 1, "a"],
      ["auto._.hr.500.6", 6, 1, "b"],
    ]);
    // max_gap_registers 0: contiguous only
    expect(
      rows(planBlocks(cfg([auto("a", 0), auto("b", 2)], { max_gap_registers: 0 })).auto),
    ).toEqual([
      ["auto._.hr.500.0", 0, 1, "a"],
      ["auto._.hr.500.2", 2, 1, "b"],
    ]);
  });

  test("coils: bits, with max_gap_bits", () => {
    const tags = [0, 1, 17, 40].map((a) => auto(`c${a}`, a, { data_type: "bool" }, "coils", 100));
    expect(rows(planBlocks(cfg(tags)).auto)).toEqual([
      ["auto._.co.100.0", 0, 18, "c0 c1 c17"],
      ["auto._.co.100.40", 40, 1, "c40"],
    ]);
    expect(planBlocks(cfg(tags)).auto[0]?.fc).toBe(1);
  });

  test("max_registers_per_request splits, never cutting a multi-register tag", () => {
    // nine uint16 at 0..8 and a float32 at 9..10: the float32 would cross the 10-register limit
    const tags = [...Array(9).keys()].map((i) => auto(`r${i}`, i));
    tags.push(auto("f", 9, f32), auto("g", 11));
    const p = planBlocks(cfg(tags, { max_registers_per_request: 10 }));
    expect(rows(p.auto)).toEqual([
      ["auto._.hr.500.0", 0, 9, "r0 r1 r2 r3 r4 r5 r6 r7 r8"],
      ["auto._.hr.500.9", 9, 3, "f g"],
    ]);
    // the protocol's 125 caps a larger setting (and is the default)
    const many = [...Array(130).keys()].map((i) => auto(`m${i}`, i));
    expect(planBlocks(cfg(many)).auto.map((b) => b.count)).toEqual([125, 5]);
  });

  test("overlapping tags (bits of one register, a uint32 over two uint16) share a block", () => {
    const p = planBlocks(
      cfg([
        auto("hi", 0),
        auto("both", 0, { data_type: "uint32" }),
        auto("lo", 1),
        auto("b3", 2, { data_type: "bit", bit: 3 }),
        auto("b4", 2, { data_type: "bit", bit: 4 }),
      ]),
    );
    expect(rows(p.auto)).toEqual([["auto._.hr.500.0", 0, 3, "hi both lo b3 b4"]]);
  });

  test("device, table and scan rate make separate groups; explicit blocks stay; ids avoid explicit ones", () => {
    const devices = [{ conn_id: "plc", device: "meter3", unit_id: 3, description: "" }];
    const explicit = block("auto._.hr.500.0", "holding_registers", 100, 2);
    const p = planBlocks(
      cfg(
        [
          auto("a", 0),
          auto("b", 1, {}, "holding_registers", 1000),
          auto("c", 1, {}, "input_registers"),
          auto("meter3/v", 0, f32, "input_registers", 1000),
          auto("nodev/x", 2), // not a device: the default device's (validation refuses such names)
          tag("e", "auto._.hr.500.0", 100),
        ],
        {},
        { devices, blocks: [explicit] },
      ),
    );
    expect(p.auto.map((b) => [b.block_id, b.device, b.unit_id, b.tags.join(" ")])).toEqual([
      ["auto._.hr.500.0-2", "", 1, "a nodev/x"],
      ["auto._.hr.1000.1", "", 1, "b"],
      ["auto._.ir.500.1", "", 1, "c"],
      ["auto.meter3.ir.1000.0", "meter3", 3, "meter3/v"],
    ]);
    expect(p.blocks[0]).toBe(explicit);
    expect(p.blocks[4]?.device).toBe("meter3");
    expect(p.tags.find((t) => t.tag_name === "e")?.block_id).toBe("auto._.hr.500.0");
  });

  test("withAutoBlocks returns a configuration without auto tags as it is", () => {
    const c = cfg([tag("e", "hr", 0)], {}, { blocks: [block("hr", "holding_registers", 0, 1)] });
    expect(withAutoBlocks(c)).toBe(c);
    const planned = withAutoBlocks(cfg([auto("a", 0)]));
    expect(planned.blocks.map((b) => b.block_id)).toEqual(["auto._.hr.500.0"]);
  });
});

describe("planBlocks: spans the device refused (exception 02)", () => {
  const hr = (start: number, end: number, device = ""): RefusedSpan => ({
    device,
    table: "holding_registers",
    start,
    end,
  });

  test("a refused block is cut at its middle tag boundary, and again until the bad register is alone", () => {
    // registers 0..3 and 10; register 3 does not exist in the device
    const tags = [auto("a", 0), auto("b", 1), auto("c", 2), auto("d", 3), auto("z", 10)];
    const step0 = planBlocks(cfg(tags, { max_gap_registers: 8 }));
    expect(rows(step0.auto)).toEqual([["auto._.hr.500.0", 0, 11, "a b c d z"]]);
    const refused = [hr(0, 11)];
    const step1 = planBlocks(cfg(tags, { max_gap_registers: 8 }), { refused });
    expect(rows(step1.auto)).toEqual([
      ["auto._.hr.500.0", 0, 2, "a b"],
      ["auto._.hr.500.2", 2, 9, "c d z"],
    ]);
    refused.push(hr(2, 11));
    const step2 = planBlocks(cfg(tags, { max_gap_registers: 8 }), { refused });
    expect(rows(step2.auto)).toEqual([
      ["auto._.hr.500.0", 0, 2, "a b"],
      ["auto._.hr.500.2", 2, 1, "c"],
      ["auto._.hr.500.3", 3, 8, "d z"],
    ]);
    refused.push(hr(3, 11));
    const step3 = planBlocks(cfg(tags, { max_gap_registers: 8 }), { refused });
    expect(rows(step3.auto)).toEqual([
      ["auto._.hr.500.0", 0, 2, "a b"],
      ["auto._.hr.500.2", 2, 1, "c"],
      ["auto._.hr.500.3", 3, 1, "d"],
      ["auto._.hr.500.10", 10, 1, "z"],
    ]);
    expect(step3.auto.map((b) => b.refused)).toEqual([false, false, false, false]);
    // d alone is refused too: it is fenced, read alone, marked refused; the others keep working
    refused.push(hr(3, 4));
    const step4 = planBlocks(cfg(tags, { max_gap_registers: 8 }), { refused });
    expect(rows(step4.auto)).toEqual(rows(step3.auto));
    expect(step4.auto.map((b) => b.refused)).toEqual([false, false, true, false]);
    expect(step4.refused).toEqual(refused);
  });

  test("a refused gap read through is not read through again", () => {
    const tags = [auto("a", 0), auto("b", 3)];
    expect(rows(planBlocks(cfg(tags)).auto)).toEqual([["auto._.hr.500.0", 0, 4, "a b"]]);
    expect(rows(planBlocks(cfg(tags), { refused: [hr(0, 4)] }).auto)).toEqual([
      ["auto._.hr.500.0", 0, 1, "a"],
      ["auto._.hr.500.3", 3, 1, "b"],
    ]);
  });

  test("a fenced span keeps other scan rates from reading through it; other devices and tables are not affected", () => {
    const tags = [
      auto("bad", 5, {}, "holding_registers", 100),
      auto("x", 3, {}, "holding_registers", 1000),
      auto("y", 7, {}, "holding_registers", 1000),
      auto("i", 3, {}, "input_registers", 1000),
      auto("j", 7, {}, "input_registers", 1000),
    ];
    const p = planBlocks(cfg(tags), { refused: [hr(5, 6)] });
    expect(rows(p.auto)).toEqual([
      ["auto._.hr.100.5", 5, 1, "bad"],
      ["auto._.hr.1000.3", 3, 1, "x"],
      ["auto._.hr.1000.7", 7, 1, "y"],
      ["auto._.ir.1000.3", 3, 5, "i j"],
    ]);
    expect(p.auto[0]?.refused).toBe(true);
    // a span of a device the connection no longer has is dropped from the plan's list
    expect(planBlocks(cfg(tags), { refused: [hr(5, 6, "gone")] }).refused).toEqual([]);
  });

  test("a refused multi-register tag is never cut: it is read alone", () => {
    const tags = [auto("a", 0), auto("f", 1, f32), auto("b", 3)];
    const p = planBlocks(cfg(tags), { refused: [hr(1, 3)] });
    expect(rows(p.auto)).toEqual([
      ["auto._.hr.500.0", 0, 1, "a"],
      ["auto._.hr.500.1", 1, 2, "f"],
      ["auto._.hr.500.3", 3, 1, "b"],
    ]);
    expect(p.auto.map((b) => b.refused)).toEqual([false, true, false]);
  });
});
