import type { NorthKind } from "../store/northbound-schema.ts";
import type { FormatFactory } from "./format.ts";

/**
 * The format of each northbound kind, loaded on demand (a plain MQTT northbound never loads
 * the protobuf codec).
 */
export const FORMATS: Record<NorthKind, () => Promise<FormatFactory>> = {
  mqtt: async () => (await import("./mqtt/format.ts")).createMqttFormat,
  sparkplug: async () => (await import("./sparkplug/index.ts")).sparkplugFormat,
};
