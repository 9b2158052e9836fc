// Import / export page (#/csv).
import { errorBox } from "../components/feedback.js";
import { api } from "../core/api.js";
import { h, setMain } from "../core/dom.js";
import { fmtNumber } from "../core/format.js";
import { t } from "../core/i18n.js";

export function pageCsv() {
  const files = h("input", {
    type: "file",
    id: "csv-files",
    multiple: true,
    accept: ".csv,text/csv",
  });
  const dry = h("input", { type: "checkbox", id: "csv-dry" });
  const replace = h("input", { type: "checkbox", id: "csv-replace" });
  const out = h("div", { id: "import-result" });
  const form = h(
    "form",
    { id: "import-form", class: "card" },
    h("h2", {}, t("csv.import")),
    h("p", { class: "muted" }, t("csv.help")),
    h("label", {}, `${t("profiles.files")} `, files),
    h("label", {}, dry, ` ${t("csv.dryRun")}`),
    h("label", {}, replace, ` ${t("csv.mirror")}`),
    h(
      "div",
      { class: "buttons" },
      h("button", { type: "submit", id: "import-go" }, t("csv.import")),
    ),
    out,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    out.replaceChildren(h("p", { class: "muted" }, t("csv.importing")));
    const fd = new FormData();
    for (const f of files.files) fd.append(f.name, f, f.name);
    const q = [dry.checked ? "dry_run=1" : "", replace.checked ? "replace=1" : ""]
      .filter(Boolean)
      .join("&");
    try {
      const r = await api("POST", `/api/import${q ? `?${q}` : ""}`, fd);
      out.replaceChildren(
        h(
          "p",
          { class: "ok", id: "import-ok" },
          t(r.dry_run ? "csv.countsDry" : "csv.counts", {
            connections: fmtNumber(r.counts.connections),
            blocks: fmtNumber(r.counts.blocks),
            tags: fmtNumber(r.counts.tags),
          }),
        ),
        h("ul", {}, ...r.changes.map((c) => h("li", {}, `${c.conn_id}: ${c.kind} (${c.stored})`))),
      );
    } catch (e) {
      const errors = e.data?.error?.errors;
      out.replaceChildren(
        h(
          "p",
          { class: "bad", id: "import-refused" },
          errors ? t("csv.refused", { n: errors.length }) : e.message,
        ),
        errors
          ? h(
              "table",
              { id: "import-errors" },
              h(
                "thead",
                {},
                h(
                  "tr",
                  {},
                  ...[
                    "csv.col.file",
                    "csv.col.line",
                    "csv.col.column",
                    "csv.col.field",
                    "csv.col.message",
                  ].map((x) => h("th", {}, t(x))),
                ),
              ),
              h(
                "tbody",
                {},
                ...errors.map((x) =>
                  h(
                    "tr",
                    {},
                    h("td", {}, x.file),
                    h("td", { class: "num" }, x.line || ""),
                    h("td", { class: "num" }, x.column || ""),
                    h("td", {}, x.field ?? ""),
                    h("td", {}, x.message),
                  ),
                ),
              ),
            )
          : e.data?.error?.issues
            ? errorBox(e)
            : null,
      );
    }
  });
  setMain(
    h("h1", {}, t("nav.csv")),
    form,
    h(
      "div",
      { class: "card" },
      h("h2", {}, t("csv.export")),
      h("p", { class: "muted" }, t("csv.exportHelp")),
      h(
        "div",
        { class: "buttons" },
        ...[
          "connections",
          "devices",
          "blocks",
          "tags",
          "northbound",
          "profiles",
          "profile_blocks",
          "profile_tags",
        ].map((k) =>
          h(
            "a",
            { class: "button secondary", href: `/api/export?file=${k}`, download: `${k}.csv` },
            `${k}.csv`,
          ),
        ),
      ),
    ),
  );
}
