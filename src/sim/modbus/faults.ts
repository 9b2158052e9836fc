import type { ModbusTable } from "./store.ts";

/** An exception the simulator answers for requests touching [from, to] of a table. */
export interface ExceptionFault {
  /** Table; omitted = every table. */
  table?: ModbusTable;
  /** First and last address (inclusive, zero-based). */
  from: number;
  to: number;
  /** Exception code (spec §7), e.g. 2 = ILLEGAL_DATA_ADDRESS. */
  code: number;
}

/**
 * Scripted faults of the simulator. All can be changed while it runs (the object is read on
 * every request).
 */
export interface Faults {
  /** Exception codes on address ranges. */
  exceptions: ExceptionFault[];
  /** Delay before every reply, ms. */
  delay_ms: number;
  /** Addresses that get no reply at all (a request touching them times out). */
  silent: Array<{ table?: ModbusTable; from: number; to: number }>;
  /** Close a client's connection after it sent this many requests (0 = never). */
  drop_after_requests: number;
  /** Device maximum registers per read (above → exception 3 ILLEGAL_DATA_VALUE, spec §6.3). */
  max_registers_per_request: number;
  /** Device maximum bits per read (above → exception 3). */
  max_bits_per_request: number;
  /** Refuse (close at once) a second client while one is connected. */
  single_client: boolean;
  /** Close a client's connection after this many ms without a request (0 = never). */
  idle_close_ms: number;
  /** Before each real reply, send a reply that does not belong to the request (wrong transaction id on TCP, another unit id on RTU). */
  stray_replies: boolean;
  /**
   * Modbus TCP only: send the next N replies with a corrupt MBAP header (protocol id 1, which
   * the TCP implementation guide v1.0b §3.1.3 fixes at 0); counts down to 0.
   */
  corrupt_replies: number;
}

/** No faults: a well-behaved device with the protocol's limits. */
export function defaultFaults(): Faults {
  return {
    exceptions: [],
    delay_ms: 0,
    silent: [],
    drop_after_requests: 0,
    max_registers_per_request: 125,
    max_bits_per_request: 2000,
    single_client: false,
    idle_close_ms: 0,
    stray_replies: false,
    corrupt_replies: 0,
  };
}
