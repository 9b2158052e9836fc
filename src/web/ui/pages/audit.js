// Audit page (#/audit): the one audit trail (docs/security.md "Audit trail"), with filters.
import { api } from "../core/api.js";
import { h, setMain } from "../core/dom.js";
import { fmtDateTime } from "../core/format.js";
import { t } from "../core/i18n.js";

const KINDS = ["", "write", "config", "access", "admin"];
const RESULTS = ["", "done", "refused", "outcome_unknown"];

/** A value for the table: JSON, or empty when there is none. */
const val = (v) => (v === null || v === undefined ? "" : JSON.stringify(v));

/** The result cell's text and class: done, refused: REASON, outcome unknown. */
function result(e) {
  if (e.result === "done") return { text: t("audit.result.done"), cls: "ok" };
  if (e.result === "outcome_unknown")
    return { text: t("audit.result.outcome_unknown"), cls: "warn" };
  return {
    text: e.reason ? t("audit.refusedBy", { reason: e.reason }) : t("audit.result.refused"),
    cls: "bad",
  };
}

/** A filter select; option `o` shows `t(prefix + o)` ("all" for the empty one). */
function select(id, label, options, value, prefix) {
  return h(
    "label",
    {},
    `${label} `,
    h(
      "select",
      { id, name: id },
      ...options.map((o) =>
        h(
          "option",
          { value: o, ...(o === value ? { selected: true } : {}) },
          o ? t(`${prefix}${o}`) : t("audit.all"),
        ),
      ),
    ),
  );
}

export async function pageAudit(filters = {}) {
  const q = new URLSearchParams({ limit: "200" });
  for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
  const d = await api("GET", `/api/audit?${q}`);
  const form = h(
    "form",
    { id: "audit-filter", class: "filters" },
    h(
      "label",
      {},
      `${t("audit.who")} `,
      h("input", {
        id: "audit-who",
        name: "who",
        value: filters.who ?? "",
        placeholder: "alice, cli:root",
      }),
    ),
    h(
      "label",
      {},
      `${t("audit.tagOrConn")} `,
      h("input", { id: "audit-tag", name: "tag", value: filters.tag ?? "" }),
    ),
    select("audit-kind", t("audit.kind"), KINDS, filters.kind ?? "", "audit.kind."),
    select("audit-result", t("audit.result"), RESULTS, filters.result ?? "", "audit.result."),
    h("button", { type: "submit" }, t("audit.filter")),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    void pageAudit({
      who: String(f.get("who") ?? "").trim(),
      tag: String(f.get("tag") ?? "").trim(),
      kind: String(f.get("audit-kind") ?? ""),
      result: String(f.get("audit-result") ?? ""),
    });
  });
  setMain(
    h("h1", {}, t("audit.title")),
    form,
    h(
      "div",
      { class: "scroll", tabindex: 0 },
      h(
        "table",
        { id: "audit-table" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ...[
              "audit.col.when",
              "audit.kind",
              "audit.who",
              "audit.col.from",
              "audit.col.what",
              "audit.col.target",
              "audit.col.value",
              "audit.col.previous",
              "audit.result",
              "audit.col.details",
            ].map((x) => h("th", {}, t(x))),
          ),
        ),
        h(
          "tbody",
          {},
          ...d.entries.map((e) => {
            const r = result(e);
            return h(
              "tr",
              {},
              h("td", {}, fmtDateTime(e.ts)),
              h(
                "td",
                { title: e.kind },
                KINDS.includes(e.kind) ? t(`audit.kind.${e.kind}`) : e.kind,
              ),
              h("td", {}, e.label ? `${e.actor} (${e.label})` : e.actor),
              h("td", {}, e.source),
              h("td", {}, e.action),
              h("td", {}, e.target),
              h("td", {}, val(e.value)),
              h("td", {}, val(e.previous)),
              h("td", { class: r.cls }, r.text),
              h("td", { class: "detail" }, JSON.stringify(e.detail)),
            );
          }),
        ),
      ),
    ),
  );
}
