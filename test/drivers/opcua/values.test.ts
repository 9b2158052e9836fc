import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chunk } from "../../../src/drivers/opcua/batch.ts";
import { listCertificates, pkiFolder, trustRejected } from "../../../src/drivers/opcua/pki.ts";
import { qualityAndReason, qualityOfStatus } from "../../../src/drivers/opcua/status.ts";
import {
  BuiltIn,
  bigIntToWords,
  fromVariant,
  toVariantValue,
} from "../../../src/drivers/opcua/values.ts";
import { tempDir } from "../../support/tmp.ts";

const unit = { scale: 1, offset: 0 };

describe("status codes → quality (OPC UA Part 4 §7.39 severity bits)", () => {
  test("Good, Uncertain, Bad", () => {
    expect(qualityOfStatus(0x00000000)).toBe("good");
    expect(qualityOfStatus(0x00a30000)).toBe("good"); // GoodClamped
    expect(qualityOfStatus(0x40900000)).toBe("uncertain"); // UncertainLastUsableValue
    expect(qualityOfStatus(0x80340000)).toBe("bad"); // BadNodeIdUnknown
    expect(qualityOfStatus(0xc0000000)).toBe("bad");
  });
  test("the reason is the status name, absent when good", () => {
    expect(qualityAndReason(0x80340000, "BadNodeIdUnknown")).toEqual({
      quality: "bad",
      reason: "BadNodeIdUnknown",
    });
    expect(qualityAndReason(0, "Good")).toEqual({ quality: "good" });
    expect(qualityAndReason(0x80ee0000, undefined)).toEqual({
      quality: "bad",
      reason: "0x80ee0000",
    });
  });
});

describe("chunk (operation limits)", () => {
  test("2,500 nodes against a limit of 1,000 are three requests", () => {
    const parts = chunk(
      Array.from({ length: 2500 }, (_, i) => i),
      1000,
    );
    expect(parts.map((p) => p.length)).toEqual([1000, 1000, 500]);
    expect(parts.flat()).toHaveLength(2500);
  });
  test("limit 0 means no limit; nothing gives no request", () => {
    expect(chunk([1, 2, 3], 0)).toEqual([[1, 2, 3]]);
    expect(chunk([], 10)).toEqual([]);
  });
});

describe("Variant values → tag values", () => {
  test("numbers are scaled; booleans and strings pass", () => {
    expect(fromVariant(BuiltIn.Double, 2.5, { scale: 10, offset: 1 })).toBe(26);
    expect(fromVariant(BuiltIn.UInt16, 7, unit)).toBe(7);
    expect(fromVariant(BuiltIn.Boolean, true, unit)).toBe(true);
    expect(fromVariant(BuiltIn.String, "x", unit)).toBe("x");
    expect(fromVariant(BuiltIn.Double, null, unit)).toBe(null);
  });
  test("64-bit integers: [high, low] words; beyond 2^53 as decimal strings", () => {
    expect(fromVariant(BuiltIn.Int64, [0xffffffff, 0xfffffffb], unit)).toBe(-5);
    expect(fromVariant(BuiltIn.UInt64, [0, 42], unit)).toBe(42);
    expect(fromVariant(BuiltIn.UInt64, [0xffffffff, 0xffffffff], unit)).toBe(
      "18446744073709551615",
    );
    expect(fromVariant(BuiltIn.Int64, 12n, unit)).toBe(12);
  });
  test("DateTime, LocalizedText, ByteString, arrays", () => {
    expect(fromVariant(BuiltIn.DateTime, new Date(1000), unit)).toBe(1000);
    expect(fromVariant(BuiltIn.LocalizedText, { text: "hi", locale: "en" }, unit)).toBe("hi");
    expect(fromVariant(BuiltIn.ByteString, Buffer.from([1, 2]), unit)).toBe("AQI=");
    expect(fromVariant(BuiltIn.Double, new Float64Array([1, 2]), unit, true)).toBe("[1,2]");
  });
});

describe("tag values → Variant values for Write", () => {
  const w = (dt: number, v: Parameters<typeof toVariantValue>[1], s = unit) =>
    toVariantValue(dt, v, s, "tag t");
  test("integers are unscaled, rounded and range-checked", () => {
    expect(w(BuiltIn.Int16, 10.4)).toBe(10);
    expect(w(BuiltIn.UInt16, 25, { scale: 0.1, offset: 0 })).toBe(250);
    expect(() => w(BuiltIn.Byte, 256)).toThrow(/outside 0..255/);
    expect(() => w(BuiltIn.SByte, -129)).toThrow(expect.objectContaining({ kind: "out_of_range" }));
    expect(() => w(BuiltIn.Int32, "abc")).toThrow(/expected a number/);
    for (const text of ["0x10", " 7 ", "abc", "NaN", ""]) {
      expect(() => w(BuiltIn.UInt16, text)).toThrow(
        expect.objectContaining({ kind: "out_of_range" }),
      );
      expect(() => w(BuiltIn.Double, text)).toThrow(/tag t: value .* refused: expected a number/);
    }
    expect(() => w(BuiltIn.UInt16, true)).toThrow(/expected a number/);
    expect(w(BuiltIn.UInt16, "1e3")).toBe(1000);
  });
  test("64-bit integers become [high, low] and accept decimal strings", () => {
    expect(w(BuiltIn.Int64, -1)).toEqual([0xffffffff, 0xffffffff]);
    expect(w(BuiltIn.UInt64, "18446744073709551615")).toEqual([0xffffffff, 0xffffffff]);
    expect(bigIntToWords(2n ** 32n + 3n)).toEqual([1, 3]);
    expect(() => w(BuiltIn.UInt64, -1)).toThrow(/outside/);
  });
  test("booleans, floats, strings", () => {
    expect(w(BuiltIn.Boolean, "true")).toBe(true);
    expect(w(BuiltIn.Boolean, 0)).toBe(false);
    expect(() => w(BuiltIn.Boolean, 2)).toThrow(/boolean/);
    expect(() => w(BuiltIn.Boolean, "on")).toThrow(/true, false, 1 or 0/);
    expect(w(BuiltIn.Double, 11, { scale: 2, offset: 1 })).toBe(5);
    expect(() => w(BuiltIn.Float, 1e39)).toThrow(/Float range/);
    expect(w(BuiltIn.String, 12)).toBe("12");
    expect(() => w(BuiltIn.Double, null)).toThrow(/required/);
  });
});

describe("PKI folder and trust", () => {
  test("rejected certificates move to trusted/certs", () => {
    const d = tempDir("ne-opcua-pki-");
    try {
      const folder = pkiFolder(d.path, "press1");
      expect(folder).toBe(join(d.path, "pki", "press1"));
      mkdirSync(join(folder, "rejected"), { recursive: true });
      writeFileSync(join(folder, "rejected", "srv[abcd].pem"), "x");
      writeFileSync(join(folder, "rejected", "other[ef01].pem"), "y");
      expect(trustRejected(d.path, "press1", "ABCD")).toEqual(["srv[abcd].pem"]);
      expect(listCertificates(d.path, "press1")).toMatchObject({
        trusted: ["srv[abcd].pem"],
        rejected: ["other[ef01].pem"],
      });
      expect(() => trustRejected(d.path, "press1", "zzz")).toThrow(
        expect.objectContaining({ kind: "not_found" }),
      );
    } finally {
      d.cleanup();
    }
  });
});
