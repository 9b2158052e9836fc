import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { isNodiError } from "../../src/core/errors.ts";
import {
  loadSimMap,
  type ModbusSim,
  parseSimMap,
  startModbusSim,
} from "../../src/sim/modbus/index.ts";

// Bad map files and a taken port, found by adversarial testing: they were accepted (NaN
// values, a float32 past register 65535) or escaped as an internal error with a stack trace.

const sims: ModbusSim[] = [];
afterAll(async () => {
  for (const s of sims) await s.stop();
});

const entry = (e: Record<string, unknown>) => ({
  entries: [{ name: "x", table: "holding_registers", address: 1, data_type: "int16", ...e }],
});
const refused = (raw: unknown): string => {
  try {
    parseSimMap(raw, "m.json");
  } catch (e) {
    expect(isNodiError(e, "configuration")).toBe(true);
    return (e as Error).message;
  }
  throw new Error("accepted");
};

describe("simulator map files, adversarial", () => {
  test("an entry running past register 65535 is refused", () => {
    expect(refused(entry({ address: 65535, data_type: "float32", value: 1 }))).toBe(
      "m.json: entries[0].address: expected an address whose 2 registers end by 65535 (float32 at 65535 goes past it)",
    );
    expect(
      refused(entry({ address: 65534, data_type: "string", length: 3, value: "ab" })),
    ).toContain("entries[0].address");
    parseSimMap(entry({ address: 65534, data_type: "float32", value: 1 }), "m.json");
  });

  test("generator periods must be above 0; min ≤ max", () => {
    const gen = (g: Record<string, unknown>) => entry({ generator: g });
    expect(refused(gen({ type: "ramp", from: 0, to: 10, period_ms: 0 }))).toBe(
      "m.json: entries[0].generator.period_ms: expected a number of ms above 0",
    );
    expect(refused(gen({ type: "sine", min: 0, max: 10, period_ms: -5 }))).toContain("period_ms");
    expect(refused(gen({ type: "counter", every_ms: 0 }))).toContain("every_ms");
    expect(refused(gen({ type: "random_walk", step: 1, min: 10, max: 0 }))).toBe(
      "m.json: entries[0].generator.max: expected a number ≥ min (10)",
    );
    parseSimMap(gen({ type: "ramp", from: 10, to: 0, period_ms: 1000 }), "m.json"); // falling ramp
  });

  test("a missing map file is not_found (CLI exit 66)", () => {
    let err: unknown;
    try {
      loadSimMap(join(import.meta.dir, "no-such-map.json"));
    } catch (e) {
      err = e;
    }
    expect(isNodiError(err, "not_found")).toBe(true);
  });

  test("a port in use is a communication error naming it, not a raw EADDRINUSE", async () => {
    const first = await startModbusSim({ map: {}, port: 0 });
    sims.push(first);
    let err: unknown;
    try {
      sims.push(await startModbusSim({ map: {}, port: first.port }));
    } catch (e) {
      err = e;
    }
    expect(isNodiError(err, "communication")).toBe(true);
    expect((err as Error).message).toBe(
      `cannot listen on 127.0.0.1:${first.port}: the port is in use (pick another with --port, or 0 for any free port)`,
    );
  });
});
