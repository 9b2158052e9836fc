import { crc16 } from "./crc16.ts";
import { concat } from "./framing-tcp.ts";

/**
 * Modbus RTU framing (Modbus over Serial Line v1.02 §2.5.1): unit id (1 byte), PDU, CRC-16
 * low byte first. RTU has no length field and no transaction id, so a reply is recognised by
 * what the request in flight expects: the same unit id, the same function code (or that code
 * + 0x80 for an exception), the length the function implies, and a good CRC.
 */

/** Builds an RTU ADU: unit id + `pdu` + CRC. */
export function encodeRtu(unitId: number, pdu: Uint8Array): Uint8Array {
  const adu = new Uint8Array(pdu.length + 3);
  adu[0] = unitId;
  adu.set(pdu, 1);
  const crc = crc16(adu, 0, pdu.length + 1);
  adu[pdu.length + 1] = crc & 0xff;
  adu[pdu.length + 2] = crc >> 8;
  return adu;
}

/** True when the last two bytes of `adu` are the CRC of the rest. */
export function crcOk(adu: Uint8Array): boolean {
  if (adu.length < 4) return false;
  const crc = crc16(adu, 0, adu.length - 2);
  return adu[adu.length - 2] === (crc & 0xff) && adu[adu.length - 1] === crc >> 8;
}

/** What a reply to the request in flight must look like. */
export interface RtuExpectation {
  unitId: number;
  functionCode: number;
  /** Length of the normal response PDU (see `expectedResponseLength`). */
  pduLength: number;
}

/**
 * Collects RTU bytes and finds the reply to the request in flight. Bytes that cannot start
 * the expected reply (another unit, another function, bad CRC) are skipped one at a time, so
 * noise or a stray frame never gets used as the reply.
 */
export class RtuReplyMatcher {
  private buf: Uint8Array = new Uint8Array(0);
  /** Bytes skipped because they did not belong to the request in flight. */
  skipped = 0;

  /** Drops everything buffered (call before sending a new request). */
  reset(): void {
    this.buf = new Uint8Array(0);
  }

  /**
   * Adds received bytes; returns the reply PDU once a matching frame is complete, else
   * `undefined` (wait for more bytes).
   */
  push(chunk: Uint8Array, want: RtuExpectation): Uint8Array | undefined {
    this.buf = this.buf.length === 0 ? chunk : concat(this.buf, chunk);
    let at = 0;
    const b = this.buf;
    while (b.length - at >= 2) {
      const unit = b[at];
      const fc = b[at + 1] ?? 0;
      let frameLen = 0;
      if (unit === want.unitId && fc === want.functionCode) frameLen = want.pduLength + 3;
      else if (unit === want.unitId && fc === (want.functionCode | 0x80)) frameLen = 5;
      if (frameLen === 0) {
        at++;
        this.skipped++;
        continue;
      }
      if (b.length - at < frameLen) break;
      const frame = b.subarray(at, at + frameLen);
      if (crcOk(frame)) {
        this.buf = new Uint8Array(0);
        return frame.slice(1, frameLen - 2);
      }
      at++;
      this.skipped++;
    }
    this.buf = b.subarray(at);
    return undefined;
  }
}
