import { describe, expect, test } from "bun:test";
import { isNodiError } from "../../../src/core/errors.ts";
import { checkTag, planRequests } from "../../../src/drivers/modbus/plan.ts";
import { block, tag } from "./helpers.ts";

const lim = { maxRegisters: 125, maxBits: 2000 };

describe("request plan", () => {
  test("a block within the limit is one request", () => {
    expect(planRequests(block("b", "holding_registers", 100, 125), [], lim)).toEqual([
      { address: 100, count: 125 },
    ]);
  });
  test("300 registers split at the protocol limit of 125 (spec §6.3)", () => {
    expect(
      planRequests(block("b", "holding_registers", 0, 300), [], {
        maxRegisters: 200,
        maxBits: 2000,
      }),
    ).toEqual([
      { address: 0, count: 125 },
      { address: 125, count: 125 },
      { address: 250, count: 50 },
    ]);
  });
  test("bits split at the device maximum", () => {
    expect(planRequests(block("b", "coils", 10, 2500), [], lim).map((r) => r.count)).toEqual([
      2000, 500,
    ]);
    expect(
      planRequests(block("b", "discrete_inputs", 0, 25), [], { maxRegisters: 125, maxBits: 10 }),
    ).toEqual([
      { address: 0, count: 10 },
      { address: 10, count: 10 },
      { address: 20, count: 5 },
    ]);
  });
  test("a split never cuts a float32 in two", () => {
    // device max 10: a float32 at 9..10 would straddle 10 → the first request stops at 9.
    const plan = planRequests(block("b", "holding_registers", 0, 20), [[9, 11]], {
      maxRegisters: 10,
      maxBits: 2000,
    });
    expect(plan).toEqual([
      { address: 0, count: 9 },
      { address: 9, count: 10 },
      { address: 19, count: 1 },
    ]);
  });
  test("at the protocol limit, a float32 across register 125 moves the boundary back", () => {
    // 300 registers from 0, max 125: the plain cut would be 0–124 | 125–249 | 250–299, but a
    // float32 at 124–125 straddles 125 → the first request stops at 123, the next starts at 124.
    const plan = planRequests(block("b", "holding_registers", 0, 300), [[124, 126]], lim);
    expect(plan).toEqual([
      { address: 0, count: 124 },
      { address: 124, count: 125 },
      { address: 249, count: 51 },
    ]);
    for (const r of plan) expect(r.count).toBeLessThanOrEqual(125);
  });
  test("a float64 across a device boundary of 8 stays whole; a tag that does not fit one request is cut", () => {
    // max 8, float64 at 6–9 → 0–5 | 6–13 | 14–15
    expect(
      planRequests(block("b", "holding_registers", 0, 16), [[6, 10]], {
        maxRegisters: 8,
        maxBits: 2000,
      }),
    ).toEqual([
      { address: 0, count: 6 },
      { address: 6, count: 8 },
      { address: 14, count: 2 },
    ]);
    // a 12-register string from 0 cannot fit 8 → cut at 8 (no endless loop)
    expect(
      planRequests(block("b", "holding_registers", 0, 12), [[0, 12]], {
        maxRegisters: 8,
        maxBits: 2000,
      }),
    ).toEqual([
      { address: 0, count: 8 },
      { address: 8, count: 4 },
    ]);
  });
  test("tags outside their block or of the wrong type are refused", () => {
    const b = block("b", "holding_registers", 100, 10);
    for (const t of [
      tag("t", "b", 99),
      tag("t", "b", 109, { data_type: "float32" }),
      tag("t", "b", 100, { data_type: "bit", bit: null }),
      tag("t", "b", 100, { data_type: "string", length: null }),
    ]) {
      expect(() => checkTag(b, t)).toThrow();
      try {
        checkTag(b, t);
      } catch (e) {
        expect(isNodiError(e, "configuration")).toBe(true);
        expect((e as Error).message).toContain("tag t (block b)");
      }
    }
    expect(() =>
      checkTag(block("c", "coils", 0, 8), tag("t", "c", 0, { data_type: "uint16" })),
    ).toThrow(/bool/);
    checkTag(b, tag("ok", "b", 108, { data_type: "float32" }));
  });
});
