import { EXIT, type ExitCode } from "./exit-codes.ts";
import type { Quality } from "./quality.ts";

/**
 * The kinds of failure the whole gateway distinguishes. Each kind is mapped to a tag quality,
 * a log level, an FSM move, an HTTP status and an exit code in exactly one place
 * ({@link errorPolicy}).
 *
 * - `communication`: the link failed (socket closed, refused, reset, serial I/O error).
 * - `timeout`: a request got no reply within its timeout.
 * - `device_exception`: the device answered with an error (Modbus exception code, OPC UA Bad
 *   status); the link is fine.
 * - `decode`: a reply arrived but cannot be decoded (wrong length, CRC, unexpected function).
 * - `configuration`: the configuration is wrong (bad address, unknown node id, validation).
 * - `out_of_range`: a value to write does not fit the tag's type or range.
 * - `read_only`: a write to a tag whose access is `read`.
 * - `not_found`: a connection, block or tag that does not exist.
 * - `internal`: a bug in Nodi Edge.
 */
export type ErrorKind =
  | "communication"
  | "timeout"
  | "device_exception"
  | "decode"
  | "configuration"
  | "out_of_range"
  | "read_only"
  | "not_found"
  | "internal";

/**
 * An error as data: a kind, a human message and a short machine `reason` that becomes the
 * bad quality's reason (e.g. `ILLEGAL_DATA_ADDRESS`, `timeout`, `BadNodeIdUnknown`).
 */
export class NodiError extends Error {
  override readonly name = "NodiError";
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** Short reason for tag quality and counters; defaults to the kind. */
    readonly reason: string = kind,
    /** Extra structured context for logs (ids, addresses, codes). */
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True when `e` is a {@link NodiError} (optionally of one of `kinds`). */
export function isNodiError(e: unknown, ...kinds: ErrorKind[]): e is NodiError {
  return e instanceof NodiError && (kinds.length === 0 || kinds.includes(e.kind));
}

/** Wraps anything thrown into a {@link NodiError}; NodiErrors pass through unchanged. */
export function toNodiError(e: unknown, fallback: ErrorKind = "internal"): NodiError {
  if (e instanceof NodiError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new NodiError(fallback, message, fallback, {}, { cause: e });
}

/** What the runtime does with an error of each kind. */
export interface ErrorPolicy {
  /** Quality given to the affected tags. */
  quality: Quality;
  /** True when the device link must be considered lost (FSM goes to RECOVER). */
  linkLost: boolean;
  /** HTTP status for the web API. */
  httpStatus: number;
  /**
   * Exit code of a command (`nodi-edge`, `ne-web` subcommands) that failed with this kind:
   * bad input 65, missing thing 66, unreachable device or service 69, a bug 1.
   */
  exitCode: ExitCode;
}

/** The one mapping from {@link ErrorKind} to quality, link state, HTTP status and exit code. */
export const errorPolicy: Record<ErrorKind, ErrorPolicy> = {
  communication: { quality: "bad", linkLost: true, httpStatus: 502, exitCode: EXIT.UNAVAILABLE },
  timeout: { quality: "bad", linkLost: false, httpStatus: 504, exitCode: EXIT.UNAVAILABLE },
  device_exception: {
    quality: "bad",
    linkLost: false,
    httpStatus: 502,
    exitCode: EXIT.UNAVAILABLE,
  },
  decode: { quality: "bad", linkLost: false, httpStatus: 502, exitCode: EXIT.DATA },
  configuration: { quality: "bad", linkLost: false, httpStatus: 400, exitCode: EXIT.DATA },
  out_of_range: { quality: "bad", linkLost: false, httpStatus: 400, exitCode: EXIT.DATA },
  read_only: { quality: "bad", linkLost: false, httpStatus: 403, exitCode: EXIT.DATA },
  not_found: { quality: "bad", linkLost: false, httpStatus: 404, exitCode: EXIT.NO_INPUT },
  internal: { quality: "bad", linkLost: false, httpStatus: 500, exitCode: EXIT.CRASH },
};
