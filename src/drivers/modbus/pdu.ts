import { NodiError } from "../../core/errors.ts";

/**
 * Modbus PDUs (function code + data), Modbus Application Protocol v1.1b3 §6–7. Pure
 * functions: request builders, response checks, exception names. Framing (MBAP, RTU) is in
 * `framing-tcp.ts` / `framing-rtu.ts`.
 */

/** Function codes used here (spec §6). */
export const FC = {
  readCoils: 1,
  readDiscreteInputs: 2,
  readHoldingRegisters: 3,
  readInputRegisters: 4,
  writeSingleCoil: 5,
  writeSingleRegister: 6,
  writeMultipleCoils: 15,
  writeMultipleRegisters: 16,
} as const;

/** Protocol limits per request (spec §6.1–6.4, §6.11–6.12). */
export const LIMITS = {
  readBits: 2000,
  readRegisters: 125,
  writeBits: 1968,
  writeRegisters: 123,
} as const;

/** Exception code → name (spec §7, "MODBUS Exception Codes"). */
export const EXCEPTION_NAMES: Record<number, string> = {
  1: "ILLEGAL_FUNCTION",
  2: "ILLEGAL_DATA_ADDRESS",
  3: "ILLEGAL_DATA_VALUE",
  4: "SERVER_DEVICE_FAILURE",
  5: "ACKNOWLEDGE",
  6: "SERVER_DEVICE_BUSY",
  8: "MEMORY_PARITY_ERROR",
  10: "GATEWAY_PATH_UNAVAILABLE",
  11: "GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND",
};

/** Name of an exception code, `EXCEPTION_<n>` for codes the spec does not define. */
export function exceptionName(code: number): string {
  return EXCEPTION_NAMES[code] ?? `EXCEPTION_${code}`;
}

/** A read request PDU (FC 1–4): fc, start address, quantity (5 bytes). */
export function readRequest(fc: 1 | 2 | 3 | 4, address: number, quantity: number): Uint8Array {
  return new Uint8Array([fc, address >> 8, address & 0xff, quantity >> 8, quantity & 0xff]);
}

/** FC5 Write Single Coil: value 0xFF00 = on, 0x0000 = off (spec §6.5). */
export function writeSingleCoilRequest(address: number, on: boolean): Uint8Array {
  return new Uint8Array([5, address >> 8, address & 0xff, on ? 0xff : 0, 0]);
}

/** FC6 Write Single Register (spec §6.6). */
export function writeSingleRegisterRequest(address: number, value: number): Uint8Array {
  return new Uint8Array([6, address >> 8, address & 0xff, (value >> 8) & 0xff, value & 0xff]);
}

/**
 * Packs bits (truthy = on) into `into` from byte `at` on, LSB first: bit i is bit (i mod 8)
 * of byte at + ⌊i/8⌋ (spec §6.1 read coils response, §6.11 write multiple coils request).
 * Bytes are OR-ed into, so `into` must be zero there.
 */
export function packBits(bits: ArrayLike<number | boolean>, into: Uint8Array, at: number): void {
  for (let i = 0; i < bits.length; i++)
    if (bits[i]) into[at + (i >> 3)] = (into[at + (i >> 3)] ?? 0) | (1 << (i & 7));
}

/** The inverse of {@link packBits}: `qty` bits (0/1) from byte `at` of `bytes`. */
export function unpackBits(bytes: Uint8Array, at: number, qty: number): Uint8Array {
  const bits = new Uint8Array(qty);
  for (let i = 0; i < qty; i++) bits[i] = ((bytes[at + (i >> 3)] ?? 0) >> (i & 7)) & 1;
  return bits;
}

/**
 * Writes 16-bit registers into `into` from byte `at` on, high byte first (spec §4.2), 2 bytes
 * per register.
 */
export function packRegisters(regs: ArrayLike<number>, into: Uint8Array, at: number): void {
  for (let i = 0; i < regs.length; i++) {
    const r = regs[i] ?? 0;
    into[at + 2 * i] = (r >> 8) & 0xff;
    into[at + 2 * i + 1] = r & 0xff;
  }
}

/** The inverse of {@link packRegisters}: `qty` registers from byte `at` of `bytes`. */
export function unpackRegisters(bytes: Uint8Array, at: number, qty: number): Uint16Array {
  const regs = new Uint16Array(qty);
  for (let i = 0; i < qty; i++)
    regs[i] = ((bytes[at + 2 * i] ?? 0) << 8) | (bytes[at + 2 * i + 1] ?? 0);
  return regs;
}

/** FC15 Write Multiple Coils: bits packed LSB-first (spec §6.11). */
export function writeMultipleCoilsRequest(address: number, bits: boolean[]): Uint8Array {
  const nBytes = Math.ceil(bits.length / 8);
  const pdu = new Uint8Array(6 + nBytes);
  pdu.set([15, address >> 8, address & 0xff, bits.length >> 8, bits.length & 0xff, nBytes]);
  packBits(bits, pdu, 6);
  return pdu;
}

/** FC16 Write Multiple Registers (spec §6.12). */
export function writeMultipleRegistersRequest(address: number, regs: number[]): Uint8Array {
  const pdu = new Uint8Array(6 + 2 * regs.length);
  pdu.set([
    16,
    address >> 8,
    address & 0xff,
    regs.length >> 8,
    regs.length & 0xff,
    2 * regs.length,
  ]);
  packRegisters(regs, pdu, 6);
  return pdu;
}

/**
 * Length in bytes of the normal response PDU to `request` (for RTU framing, which has no
 * length field), or `undefined` for a function code this client does not send.
 */
export function expectedResponseLength(request: Uint8Array): number | undefined {
  const fc = request[0];
  const qty = ((request[3] ?? 0) << 8) | (request[4] ?? 0);
  switch (fc) {
    case 1:
    case 2:
      return 2 + Math.ceil(qty / 8);
    case 3:
    case 4:
      return 2 + 2 * qty;
    case 5:
    case 6:
    case 15:
    case 16:
      return 5;
    default:
      return undefined;
  }
}

/**
 * Checks a response PDU against its request and returns its data.
 * @returns FC1/2: the bits (0/1) as a Uint8Array of the requested quantity; FC3/4: the
 *   registers as a Uint16Array; writes: an empty Uint16Array.
 * @throws NodiError `device_exception` (reason = exception name, spec §7) for an exception
 *   response; `decode` when the response does not match the request (function, byte count,
 *   echoed address/quantity/value).
 */
export function parseResponse(request: Uint8Array, response: Uint8Array): Uint8Array | Uint16Array {
  const fc = request[0] ?? 0;
  const rfc = response[0] ?? 0;
  if (rfc === (fc | 0x80)) {
    const code = response[1] ?? 0;
    const name = exceptionName(code);
    throw new NodiError(
      "device_exception",
      `device answered exception ${code} ${name} to function ${fc}`,
      name,
      {
        function_code: fc,
        exception_code: code,
      },
    );
  }
  if (rfc !== fc) throw decodeError(`reply function ${rfc} to a function ${fc} request`);
  const qty = ((request[3] ?? 0) << 8) | (request[4] ?? 0);
  switch (fc) {
    case 1:
    case 2: {
      const n = Math.ceil(qty / 8);
      if (response[1] !== n || response.length !== 2 + n) {
        throw decodeError(
          `function ${fc}: byte count ${response[1]} / length ${response.length}, expected ${n}`,
        );
      }
      return unpackBits(response, 2, qty);
    }
    case 3:
    case 4: {
      if (response[1] !== 2 * qty || response.length !== 2 + 2 * qty) {
        throw decodeError(
          `function ${fc}: byte count ${response[1]} / length ${response.length}, expected ${2 * qty}`,
        );
      }
      return unpackRegisters(response, 2, qty);
    }
    case 5:
    case 6:
    case 15:
    case 16: {
      if (response.length !== 5)
        throw decodeError(`function ${fc}: reply length ${response.length}, expected 5`);
      for (let i = 1; i < 5; i++) {
        if (response[i] !== request[i])
          throw decodeError(`function ${fc}: reply does not echo the request`);
      }
      return new Uint16Array(0);
    }
    default:
      throw decodeError(`function ${fc} is not supported`);
  }
}

function decodeError(message: string): NodiError {
  return new NodiError("decode", message, "decode_error");
}
