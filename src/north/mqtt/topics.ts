import { CONN_ID_RE } from "../../core/paths.ts";

/**
 * Topics of a plain MQTT northbound (docs/north.md "Plain MQTT"), from its `topic_template`
 * (placeholders `{gateway}`, `{north_id}`, `{conn_id}`, `{device}`, `{tag}`).
 *
 * - data: the template, e.g. `nodi-edge/{gateway}/{conn_id}/{tag}` → `nodi-edge/gw1/mtc-01/speed`.
 * - base: the rendered template up to the first level that holds `{conn_id}`, `{device}` or
 *   `{tag}` (`nodi-edge/gw1`); the template itself when it has none of them.
 * - status: `{base}/_status/{north_id}`, retained `online` / `offline` (the Will).
 * - connection state: `{base}/_state/{conn_id}`, retained JSON.
 * - gap: `{base}/_gap/{north_id}`, JSON, not retained.
 * - write request: `{data topic}/set`; reply: the request's MQTT 5 response topic, else
 *   `{data topic}/set/reply`.
 * A level starting with `_` never clashes with a conn_id (which starts with a letter or digit).
 */
export interface Topics {
  base: string;
  status: string;
  gap: string;
  /** The data topic of one tag; `tag` may hold `/`-separated segments. */
  data(connId: string, tag: string, device?: string): string;
  /** The topic of a batch message: the template without its `{tag}` level. */
  batch(connId: string, device?: string): string;
  state(connId: string): string;
  /** Filter to subscribe for write requests (`{base}/#`), or undefined when the template has no `{conn_id}` and `{tag}`. */
  setFilter: string | undefined;
  /** Parses a write request topic: the tag path, or undefined when it is not one. */
  parseSet(topic: string): { path: string } | undefined;
}

const DEVICE_OR_TAG = /\{(conn_id|device|tag)\}/;

/** Builds the topics of one northbound. Levels are never empty: a template is validated by NorthboundSchema. */
export function buildTopics(template: string, gateway: string, northId: string): Topics {
  const fixed = template.replaceAll("{gateway}", gateway).replaceAll("{north_id}", northId);
  const levels = fixed.split("/");
  const first = levels.findIndex((l) => DEVICE_OR_TAG.test(l));
  const base = first < 0 ? fixed : levels.slice(0, first).join("/") || "nodi-edge";
  const render = (connId: string, tag: string, device: string | undefined) =>
    fixed
      .replaceAll("{conn_id}", connId)
      .replaceAll("{device}", device ?? connId)
      .replaceAll("{tag}", tag);
  const batchTemplate = levels.filter((l) => l !== "{tag}").join("/");
  const canSet = fixed.includes("{conn_id}") && fixed.includes("{tag}");
  let setRe: RegExp | undefined;
  const groups: string[] = [];
  if (canSet) {
    const esc = (s: string) => s.replace(/[.+?^${}()|[\]\\*]/g, "\\$&");
    const idRe = CONN_ID_RE.source.slice(1, -1);
    const body = fixed
      .split(/(\{conn_id\}|\{device\}|\{tag\})/)
      .map((part) => {
        if (part === "{conn_id}" || part === "{device}") {
          groups.push(part);
          return `(${idRe})`;
        }
        if (part === "{tag}") {
          groups.push(part);
          return "([^/]+(?:/[^/]+)*?)";
        }
        return esc(part);
      })
      .join("");
    setRe = new RegExp(`^${body}/set$`);
  }
  return {
    base,
    status: `${base}/_status/${northId}`,
    gap: `${base}/_gap/${northId}`,
    data: (connId, tag, device) => render(connId, tag, device),
    batch: (connId, device) =>
      batchTemplate.replaceAll("{conn_id}", connId).replaceAll("{device}", device ?? connId),
    state: (connId) => `${base}/_state/${connId}`,
    setFilter: canSet ? `${base}/#` : undefined,
    parseSet(topic) {
      const m = setRe?.exec(topic);
      if (!m) return undefined;
      let connId: string | undefined;
      let tag: string | undefined;
      let device: string | undefined;
      groups.forEach((g, i) => {
        const v = m[i + 1]!;
        if (g === "{conn_id}") connId = v;
        else if (g === "{device}") device = v;
        else tag = v;
      });
      if (!connId || !tag) return undefined;
      // today a connection has one device: {device} renders as the conn_id (issue 14 adds devices)
      if (device !== undefined && device !== connId) return { path: `/${connId}/${device}/${tag}` };
      return { path: `/${connId}/${tag}` };
    },
  };
}
