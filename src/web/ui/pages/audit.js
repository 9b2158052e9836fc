// Audit page (#/audit): the audit trail.
import { api } from "../core/api.js";
import { h, setMain } from "../core/dom.js";
import { fmtDateTime } from "../core/format.js";

export async function pageAudit() {
  const d = await api("GET", "/api/audit?limit=200");
  setMain(
    h("h1", {}, "Audit trail"),
    h(
      "table",
      { id: "audit-table" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...["When", "Who", "What", "Target", "Result", "Details"].map((x) => h("th", {}, x)),
        ),
      ),
      h(
        "tbody",
        {},
        ...d.entries.map((e) =>
          h(
            "tr",
            {},
            h("td", {}, fmtDateTime(e.ts)),
            h("td", {}, e.actor),
            h("td", {}, e.action),
            h("td", {}, e.target),
            h("td", { class: e.ok ? "ok" : "bad" }, e.ok ? "ok" : "failed"),
            h("td", { class: "detail" }, JSON.stringify(e.detail)),
          ),
        ),
      ),
    ),
  );
}
