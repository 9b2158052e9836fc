/**
 * Tag quality, as OPC UA and most SCADA systems use it (OPC UA Part 4 §7.34: the
 * severity bits of a StatusCode are Good / Uncertain / Bad).
 *
 * - `good`: the value was read from the device and decoded.
 * - `uncertain`: a value exists but may be stale or approximate (e.g. an OPC UA
 *   Uncertain status, or a last value kept while a reload is under way).
 * - `bad`: there is no trustworthy value; `reason` says why.
 */
export type Quality = "good" | "uncertain" | "bad";

/** Every quality, in order of severity. */
export const QUALITIES: readonly Quality[] = ["good", "uncertain", "bad"] as const;

/**
 * Standard reasons for a bad or uncertain quality. Drivers may use other strings (e.g. a
 * Modbus exception name such as `ILLEGAL_DATA_ADDRESS` or an OPC UA status code name such
 * as `BadNodeIdUnknown`); these are the ones the runtime itself sets.
 */
export const REASON = {
  /** The link to the device is down (the app is in CONNECT or RECOVER). */
  disconnected: "disconnected",
  /** The device did not answer within the request timeout. */
  timeout: "timeout",
  /** The reply could not be decoded into the tag's data type. */
  decodeError: "decode_error",
  /** The connection or tag was removed or disabled; the last value is no longer maintained. */
  removed: "removed",
  /** The interface app stopped. */
  stopped: "stopped",
  /** Values between two updates were lost (outbox overflow, retention trimmed past a cursor). */
  gap: "gap",
} as const;
