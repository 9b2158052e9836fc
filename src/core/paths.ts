/**
 * Identifiers and tag paths (DESIGN.md §3).
 *
 * - `conn_id`: `^[a-z0-9][a-z0-9_-]{0,62}$`; `system` and `supervisor` are reserved.
 * - data tag path: `/{conn_id}/{tag_name}`; on a link with several devices (issue 14) a
 *   device's tags are `/{conn_id}/{device}/{tag}`: their tag name is `{device}/{tag}`.
 * - system tag path: `/system/{app_id}/{name}` (e.g. `/system/mtc-01/config_reload`).
 */

/** Pattern a connection id must match. */
export const CONN_ID_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** Connection ids that would collide with system tag paths. */
export const RESERVED_IDS: ReadonlySet<string> = new Set(["system", "supervisor"]);
/**
 * Pattern a tag name must match: letters, digits, `_`, `.`, `-`; 1 to 128 characters,
 * starting with a letter, digit or `_`. Dots give hierarchy (`line1.motor.speed`).
 */
export const TAG_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/**
 * Pattern a stored tag name matches: one or more `/`-separated segments, each matching
 * {@link TAG_NAME_RE}. A tag of a named device on a multi-device link is `{device}/{tag}`
 * (e.g. `meter3/voltage_l1`, path `/rtu-line/meter3/voltage_l1`); the validation of the
 * store (`store/validate.ts`) requires the first segment to be the device of the tag's block.
 */
export const SEGMENTED_TAG_NAME_RE =
  /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(?:\/[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})*$/;

/** Longest stored tag name, in characters (with its device segment). */
export const TAG_NAME_MAX = 192;

/**
 * The device segment of a stored tag name: `meter3/voltage` → `meter3`; `undefined` for a
 * one-segment name (a tag of the connection's default device).
 */
export function deviceOfTagName(tagName: string): string | undefined {
  const i = tagName.indexOf("/");
  return i < 0 ? undefined : tagName.slice(0, i);
}

/** True when `id` is a valid, non-reserved connection id. */
export function isConnId(id: string): boolean {
  return CONN_ID_RE.test(id) && !RESERVED_IDS.has(id);
}

/** `/{connId}/{tagName}`. Does not validate; see {@link parseTagPath}. */
export function dataTagPath(connId: string, tagName: string): string {
  return `/${connId}/${tagName}`;
}

/** `/system/{appId}/{name}`. */
export function systemTagPath(appId: string, name: string): string {
  return `/system/${appId}/${name}`;
}

/** The system tags of DESIGN.md §2, by name. */
export const SYSTEM_TAGS = {
  configReload: (appId: string) => systemTagPath(appId, "config_reload"),
  connAdded: systemTagPath("supervisor", "conn_added"),
  connRemoved: systemTagPath("supervisor", "conn_removed"),
  northAdded: systemTagPath("supervisor", "north_added"),
  northRemoved: systemTagPath("supervisor", "north_removed"),
  state: (appId: string) => systemTagPath(appId, "state"),
} as const;

/**
 * A parsed tag path. For a data path, `tagName` is everything after the connection id (the
 * stored tag name, `meter3/voltage` for a device's tag); `device` is its first segment when
 * it has several (absent for a tag of the connection's default device).
 */
export type ParsedTagPath =
  | { kind: "data"; connId: string; tagName: string; device?: string }
  | { kind: "system"; appId: string; name: string };

/**
 * Parses a tag path.
 * @returns the parsed path, or `undefined` when `path` is not a valid data or system tag path.
 */
export function parseTagPath(path: string): ParsedTagPath | undefined {
  const parts = path.split("/");
  if (parts[0] !== "") return undefined;
  if (parts[1] === "system") {
    if (parts.length < 4) return undefined;
    const appId = parts[2]!;
    const name = parts.slice(3).join("/");
    if (!(CONN_ID_RE.test(appId) || appId === "supervisor")) return undefined;
    if (!/^[A-Za-z0-9_][A-Za-z0-9_./-]{0,127}$/.test(name)) return undefined;
    return { kind: "system", appId, name };
  }
  if (parts.length < 3) return undefined;
  const connId = parts[1]!;
  const tagName = parts.slice(2).join("/");
  if (!isConnId(connId) || tagName.length > TAG_NAME_MAX) return undefined;
  if (!SEGMENTED_TAG_NAME_RE.test(tagName)) return undefined;
  if (parts.length === 3) return { kind: "data", connId, tagName };
  // A device segment has the conn_id pattern (lower case; store/schema.ts DeviceSchema).
  if (!CONN_ID_RE.test(parts[2]!)) return undefined;
  return { kind: "data", connId, tagName, device: parts[2]! };
}

/**
 * Tests a path against a subscription pattern. A pattern is a path in which `*` matches any
 * run of characters within one segment and a trailing `/*` or `/**` matches everything below:
 * `/mtc-01/*` matches `/mtc-01/speed` and a device's `/mtc-01/meter3/voltage`;
 * `/rtu-line/*\/voltage` matches the `voltage` of every device of `rtu-line` (one segment
 * each); `/system/*\/state` matches every app's state tag; `/**` matches every path.
 */
export function matchesPattern(pattern: string, path: string): boolean {
  return patternToRegExp(pattern).test(path);
}

const patternCache = new Map<string, RegExp>();

/** Compiles a subscription pattern (see {@link matchesPattern}) to an anchored RegExp. */
export function patternToRegExp(pattern: string): RegExp {
  let re = patternCache.get(pattern);
  if (re) return re;
  const esc = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
  let body: string;
  if (pattern.endsWith("/**")) body = `${esc(pattern.slice(0, -3)).replace(/\*/g, "[^/]*")}/.*`;
  else if (pattern.endsWith("/*")) body = `${esc(pattern.slice(0, -2)).replace(/\*/g, "[^/]*")}/.*`;
  else body = esc(pattern).replace(/\*/g, "[^/]*");
  re = new RegExp(`^${body}$`);
  patternCache.set(pattern, re);
  return re;
}
