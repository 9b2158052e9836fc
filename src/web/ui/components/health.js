// Generic rendering of a health object (scalars as a list, maps and arrays as tables).
import { h } from "../core/dom.js";
import { fmtDateTime, fmtValue } from "../core/format.js";
import { t } from "../core/i18n.js";

// ---- diagnostics

/** Renders a health object generically: scalars as a list, per-block maps and arrays as tables. */
export function renderHealth(health) {
  if (!health) return h("p", { class: "muted" }, t("health.none"));
  const scalars = [];
  const tables = [];
  for (const [k, v] of Object.entries(health)) {
    if (["recent_logs", "recentLogs", "logs"].includes(k)) continue;
    if (v === null || typeof v !== "object") scalars.push([k, v]);
    else if (Array.isArray(v) && v.every((x) => x && typeof x === "object")) tables.push([k, v]);
    else if (
      !Array.isArray(v) &&
      Object.values(v).every((x) => x && typeof x === "object" && !Array.isArray(x))
    ) {
      tables.push([k, Object.entries(v).map(([key, x]) => ({ "": key, ...flat(x) }))]);
    } else if (!Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(flat(v))) scalars.push([`${k}.${k2}`, v2]);
    } else scalars.push([k, JSON.stringify(v)]);
  }
  const out = h("div", { class: "health" });
  if (scalars.length) {
    out.append(
      h(
        "table",
        { class: "kv", id: "health-counters" },
        h(
          "tbody",
          {},
          ...scalars.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, fmtHealth(k, v)))),
        ),
      ),
    );
  }
  for (const [k, rows] of tables) {
    const cols = [...new Set(rows.flatMap((r) => Object.keys(flat(r))))];
    out.append(
      h("h3", {}, k),
      h(
        "div",
        { class: "scroll", tabindex: 0 },
        h(
          "table",
          { class: "health-table", "data-health": k },
          h("thead", {}, h("tr", {}, ...cols.map((c) => h("th", {}, c)))),
          h(
            "tbody",
            {},
            ...rows.map((r) =>
              h("tr", {}, ...cols.map((c) => h("td", {}, fmtHealth(c, flat(r)[c])))),
            ),
          ),
        ),
      ),
    );
  }
  return out;
}

export function flat(o, prefix = "") {
  const out = {};
  for (const [k, v] of Object.entries(o ?? {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v)) Object.assign(out, flat(v, key));
    else out[key] = Array.isArray(v) ? JSON.stringify(v) : v;
  }
  return out;
}

export function fmtHealth(key, v) {
  if (typeof v === "number" && v > 1e12 && v < 1e13 && /(ts|at|since|time|poll|good)$/i.test(key)) {
    return fmtDateTime(v);
  }
  if (typeof v === "number") return fmtValue(v);
  return v === null || v === undefined ? "" : String(v);
}
