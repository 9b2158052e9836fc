import { expect, test } from "bun:test";
import { passesDeadband } from "../../src/core/deadband.ts";

const g = (value: number | string | boolean | null) => ({ value, quality: "good" as const });

test("absolute deadband publishes only changes larger than the band", () => {
  expect(passesDeadband(undefined, g(1), 0.5)).toBe(true);
  expect(passesDeadband(g(10), g(10.4), 0.5)).toBe(false);
  expect(passesDeadband(g(10), g(10.5), 0.5)).toBe(false);
  expect(passesDeadband(g(10), g(10.6), 0.5)).toBe(true);
  expect(passesDeadband(g(10), g(10), 0)).toBe(false);
  expect(passesDeadband(g(10), g(10.0001), 0)).toBe(true);
});

test("quality and non-numeric changes always publish", () => {
  expect(passesDeadband(g(10), { value: 10, quality: "bad", reason: "timeout" }, 5)).toBe(true);
  expect(passesDeadband(g("a"), g("b"), 5)).toBe(true);
  expect(passesDeadband(g(true), g(true), 0)).toBe(false);
});
