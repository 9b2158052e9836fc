import { describe, expect, test } from "bun:test";
// modbus-serial's own CRC routine: an independent implementation to check ours against.
// @ts-expect-error untyped CommonJS module of modbus-serial
import referenceCrc from "modbus-serial/utils/crc16.js";
import { isNodiError } from "../../../src/core/errors.ts";
import { crc16 } from "../../../src/drivers/modbus/crc16.ts";
import { crcOk, encodeRtu, RtuReplyMatcher } from "../../../src/drivers/modbus/framing-rtu.ts";
import { encodeMbap, MbapDecoder } from "../../../src/drivers/modbus/framing-tcp.ts";
import {
  expectedResponseLength,
  parseResponse,
  readRequest,
  writeMultipleCoilsRequest,
  writeMultipleRegistersRequest,
  writeSingleCoilRequest,
} from "../../../src/drivers/modbus/pdu.ts";

const hex = (s: string) => new Uint8Array(s.split(" ").map((b) => Number.parseInt(b, 16)));

describe("RTU framing", () => {
  test("CRC of the spec's example frame: read 10 holding registers of unit 1 at 0 → 0x0DC5 (C5 CD on the wire)", () => {
    // 01 03 00 00 00 0A C5 CD is the frame every Modbus RTU manual shows for this request.
    expect(encodeRtu(1, readRequest(3, 0, 10))).toEqual(hex("01 03 00 00 00 0a c5 cd"));
    expect(crcOk(hex("01 03 00 00 00 0a c5 cd"))).toBe(true);
    expect(crcOk(hex("01 03 00 00 00 0a c5 ce"))).toBe(false);
  });

  test("CRC agrees with modbus-serial's implementation on random frames", () => {
    for (let n = 0; n < 200; n++) {
      const b = new Uint8Array(1 + Math.floor(Math.random() * 250)).map(() =>
        Math.floor(Math.random() * 256),
      );
      expect(crc16(b)).toBe(referenceCrc(Buffer.from(b)));
    }
  });

  const want = { unitId: 7, functionCode: 3, pduLength: 2 + 2 * 2 };
  const reply = encodeRtu(7, hex("03 04 00 2a 01 6c"));

  test("a reply split across chunks is assembled", () => {
    const m = new RtuReplyMatcher();
    expect(m.push(reply.subarray(0, 3), want)).toBeUndefined();
    expect(m.push(reply.subarray(3), want)).toEqual(hex("03 04 00 2a 01 6c"));
  });

  test("a frame of another unit, noise and a bad CRC before the reply are skipped", () => {
    const m = new RtuReplyMatcher();
    const other = encodeRtu(8, hex("03 04 ee ee ee ee"));
    const badCrc = reply.slice();
    badCrc[badCrc.length - 1] = (badCrc[badCrc.length - 1] ?? 0) ^ 0xff;
    const stream = new Uint8Array([...other, 0x00, 0xff, ...badCrc, ...reply]);
    expect(m.push(stream, want)).toEqual(hex("03 04 00 2a 01 6c"));
    expect(m.skipped).toBeGreaterThan(0);
  });

  test("an exception reply (function | 0x80) is recognised by its 5-byte length", () => {
    const m = new RtuReplyMatcher();
    expect(m.push(encodeRtu(7, hex("83 02")), want)).toEqual(hex("83 02"));
  });

  test("a reply of the wrong length never matches (waits for more, then a timeout)", () => {
    const m = new RtuReplyMatcher();
    expect(m.push(encodeRtu(7, hex("03 02 00 2a")), want)).toBeUndefined();
  });
});

describe("TCP (MBAP) framing", () => {
  test("header layout: transaction id, protocol 0, length, unit", () => {
    expect(encodeMbap(0x1234, 1, readRequest(3, 0x6b, 3))).toEqual(
      hex("12 34 00 00 00 06 01 03 00 6b 00 03"),
    );
  });

  test("frames split and joined arbitrarily are cut correctly", () => {
    const a = encodeMbap(1, 1, hex("03 02 00 2a"));
    const b = encodeMbap(2, 1, hex("03 02 00 2b"));
    const all = new Uint8Array([...a, ...b]);
    const d = new MbapDecoder();
    const got = [
      ...d.push(all.subarray(0, 5)),
      ...d.push(all.subarray(5, 13)),
      ...d.push(all.subarray(13)),
    ];
    expect(got.map((f) => f.transactionId)).toEqual([1, 2]);
    expect(got[1]?.pdu).toEqual(hex("03 02 00 2b"));
  });

  test("a corrupt header is a communication (framing) error", () => {
    const d = new MbapDecoder();
    try {
      d.push(hex("00 01 00 07 00 06 01 03 00 00 00 01"));
      throw new Error("no throw");
    } catch (e) {
      expect(isNodiError(e, "communication")).toBe(true);
    }
  });
});

describe("PDUs (spec §6)", () => {
  test("FC15 packs coils LSB first: 10 coils at 19 = CD 01 (spec §6.11 example)", () => {
    const bits = [1, 0, 1, 1, 0, 0, 1, 1, 1, 0].map(Boolean);
    expect(writeMultipleCoilsRequest(19, bits)).toEqual(hex("0f 00 13 00 0a 02 cd 01"));
  });
  test("FC16 example: 2 registers at 1 = 000A 0102 (spec §6.12)", () => {
    expect(writeMultipleRegistersRequest(1, [0x000a, 0x0102])).toEqual(
      hex("10 00 01 00 02 04 00 0a 01 02"),
    );
  });
  test("FC5 on = FF00 (spec §6.5)", () => {
    expect(writeSingleCoilRequest(172, true)).toEqual(hex("05 00 ac ff 00"));
  });
  test("FC1 reply bits (spec §6.1 example: coils 20-38 = CD 6B 05)", () => {
    const bits = parseResponse(readRequest(1, 19, 19), hex("01 03 cd 6b 05"));
    expect(Array.from(bits)).toEqual([1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1]);
  });
  test("FC3 reply registers (spec §6.3 example: 022B 0000 0064)", () => {
    expect(
      Array.from(parseResponse(readRequest(3, 107, 3), hex("03 06 02 2b 00 00 00 64"))),
    ).toEqual([555, 0, 100]);
  });
  test("exception reply → device_exception with the exception's name", () => {
    try {
      parseResponse(readRequest(3, 0, 1), hex("83 02"));
      throw new Error("no throw");
    } catch (e) {
      expect(isNodiError(e, "device_exception")).toBe(true);
      expect((e as { reason: string }).reason).toBe("ILLEGAL_DATA_ADDRESS");
    }
  });
  test("a reply with the wrong byte count or function is a decode error", () => {
    for (const bad of [hex("03 04 00 01 00 02"), hex("04 02 00 01"), hex("03 02 00")]) {
      try {
        parseResponse(readRequest(3, 0, 1), bad);
        throw new Error("no throw");
      } catch (e) {
        expect(isNodiError(e, "decode")).toBe(true);
      }
    }
  });
  test("expected reply lengths", () => {
    expect(expectedResponseLength(readRequest(1, 0, 9))).toBe(4);
    expect(expectedResponseLength(readRequest(4, 0, 125))).toBe(252);
    expect(expectedResponseLength(writeSingleCoilRequest(0, true))).toBe(5);
  });
});
