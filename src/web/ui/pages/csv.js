// Import / export page (#/csv).
import { errorBox } from "../components/feedback.js";
import { api } from "../core/api.js";
import { h, setMain } from "../core/dom.js";

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
    h("h2", {}, "Import"),
    h(
      "p",
      { class: "muted" },
      "Choose connections.csv and, optionally, devices.csv, blocks.csv and tags.csv, and/or northbound.csv, and/or the profile files profiles.csv, profile_blocks.csv, profile_tags.csv (docs/csv.md, installed in /usr/share/doc/nodi-edge/csv.md). All or nothing: any error changes nothing.",
    ),
    h("label", {}, "Files ", files),
    h("label", {}, dry, " validate only (dry run)"),
    h("label", {}, replace, " mirror: remove connections not in the file"),
    h("div", { class: "buttons" }, h("button", { type: "submit", id: "import-go" }, "Import")),
    out,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    out.replaceChildren(h("p", { class: "muted" }, "importing…"));
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
          `${r.dry_run ? "Valid (dry run, nothing written)" : "Imported"}: ${r.counts.connections} connections, ${r.counts.blocks} blocks, ${r.counts.tags} tags.`,
        ),
        h("ul", {}, ...r.changes.map((c) => h("li", {}, `${c.conn_id}: ${c.kind} (${c.stored})`))),
      );
    } catch (e) {
      const errors = e.data?.error?.errors;
      out.replaceChildren(
        h(
          "p",
          { class: "bad", id: "import-refused" },
          errors ? `Import refused, nothing was changed: ${errors.length} error(s).` : e.message,
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
                  ...["File", "Line", "Column", "Field", "Message"].map((x) => h("th", {}, x)),
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
    h("h1", {}, "Import / export"),
    form,
    h(
      "div",
      { class: "card" },
      h("h2", {}, "Export"),
      h("p", { class: "muted" }, "The whole configuration as the three CSV files."),
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
