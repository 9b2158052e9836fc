import { NodiError } from "../../core/errors.ts";

/**
 * Modbus TCP framing: the MBAP header (Modbus Messaging on TCP/IP Implementation Guide v1.0b
 * §3.1.3): transaction id (2 bytes), protocol id 0 (2), length of what follows (2), unit id
 * (1), then the PDU. Pure functions and a stream decoder; no sockets.
 */

/** One decoded MBAP frame. */
export interface MbapFrame {
  transactionId: number;
  unitId: number;
  pdu: Uint8Array;
}

/** MBAP header bytes (7). */
export const MBAP_HEADER = 7;

/** Builds an ADU: MBAP header + `pdu`. */
export function encodeMbap(transactionId: number, unitId: number, pdu: Uint8Array): Uint8Array {
  const adu = new Uint8Array(MBAP_HEADER + pdu.length);
  const len = pdu.length + 1;
  adu[0] = (transactionId >> 8) & 0xff;
  adu[1] = transactionId & 0xff;
  adu[4] = len >> 8;
  adu[5] = len & 0xff;
  adu[6] = unitId;
  adu.set(pdu, MBAP_HEADER);
  return adu;
}

/**
 * Cuts a TCP byte stream into MBAP frames. Bytes may arrive split or joined arbitrarily.
 * `push` returns every complete frame; a header whose protocol id is not 0 or whose length
 * is outside 2..254 (a PDU is at most 253 bytes, spec §4.1) means the stream lost its
 * framing, which TCP cannot recover from.
 * @throws NodiError `communication` (reason `framing_error`) on a corrupt header; the caller
 *   closes the link.
 */
export class MbapDecoder {
  private buf: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): MbapFrame[] {
    this.buf = this.buf.length === 0 ? chunk : concat(this.buf, chunk);
    const frames: MbapFrame[] = [];
    let at = 0;
    const b = this.buf;
    while (b.length - at >= MBAP_HEADER) {
      const protocol = ((b[at + 2] ?? 0) << 8) | (b[at + 3] ?? 0);
      const len = ((b[at + 4] ?? 0) << 8) | (b[at + 5] ?? 0);
      if (protocol !== 0 || len < 2 || len > 254) {
        this.buf = new Uint8Array(0);
        throw new NodiError(
          "communication",
          `corrupt MBAP header (protocol ${protocol}, length ${len})`,
          "framing_error",
        );
      }
      if (b.length - at < 6 + len) break;
      frames.push({
        transactionId: ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0),
        unitId: b[at + 6] ?? 0,
        pdu: b.slice(at + MBAP_HEADER, at + 6 + len),
      });
      at += 6 + len;
    }
    this.buf = at === b.length ? new Uint8Array(0) : b.subarray(at);
    return frames;
  }

  /** Forgets buffered bytes (after a reconnect). */
  reset(): void {
    this.buf = new Uint8Array(0);
  }
}

/** Concatenates two byte arrays. */
export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
