/**
 * Sparkplug B topics (Sparkplug 3.0 §4.1 "Topic Namespace Elements"):
 * `spBv1.0/{group_id}/{message_type}/{edge_node_id}[/{device_id}]`, and the primary host's
 * `spBv1.0/STATE/{host_id}` (§4.2.5 / §6.4.19).
 */

/** The namespace element of Sparkplug B (tck-id-topic-structure-namespace-a). */
export const NAMESPACE = "spBv1.0";

/** Message types addressed to the edge node itself (no device_id in the topic). */
export type NodeMessageType = "NBIRTH" | "NDEATH" | "NDATA" | "NCMD";
/** Message types addressed to a device of the edge node (device_id in the topic). */
export type DeviceMessageType = "DBIRTH" | "DDEATH" | "DDATA" | "DCMD";

/** `spBv1.0/{group}/{type}/{node}`. */
export function nodeTopic(group: string, type: NodeMessageType, node: string): string {
  return `${NAMESPACE}/${group}/${type}/${node}`;
}

/** `spBv1.0/{group}/{type}/{node}/{device}`. */
export function deviceTopic(
  group: string,
  type: DeviceMessageType,
  node: string,
  device: string,
): string {
  return `${NAMESPACE}/${group}/${type}/${node}/${device}`;
}

/** `spBv1.0/STATE/{host}`. */
export function stateTopic(host: string): string {
  return `${NAMESPACE}/STATE/${host}`;
}

/**
 * The Sparkplug device_id of a Nodi device. A connection's only device is the connection:
 * device_id = conn_id. A device on a shared link (issue 14, the pair conn_id + device) is
 * `{conn_id}.{device}`: a device_id may not contain `/` (§4.1.1), and `.` cannot occur in a
 * conn_id, so the pair is never ambiguous.
 */
export function sparkplugDeviceId(connId: string, device?: string): string {
  return device === undefined ? connId : `${connId}.${device}`;
}

/** A topic this edge node receives, parsed. */
export type ParsedTopic =
  | { kind: "NCMD" }
  | { kind: "DCMD"; device: string }
  | { kind: "STATE"; host: string }
  | { kind: "other" };

/** Parses a received topic relative to this edge node's group and node id. */
export function parseTopic(topic: string, group: string, node: string): ParsedTopic {
  const p = topic.split("/");
  if (p[0] !== NAMESPACE) return { kind: "other" };
  if (p.length === 3 && p[1] === "STATE") return { kind: "STATE", host: p[2]! };
  if (p[1] !== group || p[3] !== node) return { kind: "other" };
  if (p.length === 4 && p[2] === "NCMD") return { kind: "NCMD" };
  if (p.length === 5 && p[2] === "DCMD") return { kind: "DCMD", device: p[4]! };
  return { kind: "other" };
}
