// The editable table of devices, blocks or tags (one row per entity, Save per row): human
// column headers (label, unit; range and help in the tooltip), the key column as wide as its
// longest value, a sticky header, a filter, and (tags) bulk edit of byte order and scale
// for the selected rows.
import { api } from "../core/api.js";
import { h } from "../core/dom.js";
import { clearErrors, fieldInput, fieldLabel, parseInput, showFieldError } from "../core/fields.js";
import { confirmDialog, errorBox, errorSummary, toast } from "./feedback.js";

export function tableEditor({ id, entity, rows, keyField, fields, urlOf, title }) {
  const editable = fields.filter((f) => f.name !== "conn_id");
  const tbody = h("tbody");
  const status = h("div", { class: "form-status" });
  const bulk = entity === "tag";
  // the key column fits its longest value (a whole tag name readable)
  const keyChars = Math.max(12, ...rows.map((r) => String(r[keyField] ?? "").length + 2));
  const makeRow = (row, isNew) => {
    const tr = h("tr", { "data-key": isNew ? "" : row[keyField], class: isNew ? "new" : "" });
    if (bulk)
      tr.append(
        h(
          "td",
          {},
          h("input", { type: "checkbox", class: "select-row", "aria-label": "select row" }),
        ),
      );
    for (const f of editable) {
      const input = fieldInput(f, row[f.name], { "aria-label": fieldLabel(entity, f).label });
      if (f.name === keyField) input.style.minWidth = `${keyChars}ch`;
      tr.append(h("td", {}, input));
    }
    const save = async () => {
      clearErrors(tr);
      status.replaceChildren();
      const body = {};
      for (const f of editable) {
        const v = parseInput(f, tr.querySelector(`[data-field="${f.name}"]`));
        if (v !== undefined) body[f.name] = v;
      }
      const original = tr.dataset.key || body[keyField];
      if (!original) {
        showFieldError(tr, keyField, `${keyField} must not be empty`);
        return;
      }
      try {
        await api("PUT", urlOf(original), body);
        tr.dataset.key = body[keyField];
        tr.classList.remove("new");
        toast(`${title.slice(0, -1)} ${body[keyField]} saved`);
        status.replaceChildren(h("p", { class: "ok" }, `Saved ${body[keyField]}.`));
      } catch (e) {
        const placed = [];
        for (const i of e.data?.error?.issues ?? []) {
          if (
            i.entity === entity &&
            (i.key === `${id}/${body[keyField]}` || i.key === `${id}/${original}`)
          ) {
            if (showFieldError(tr, i.field, i.message)) placed.push(i);
          }
        }
        status.replaceChildren(errorSummary(e, placed));
        if (placed.length === 0 && e.data?.error?.issues === undefined) toast(e.message, "bad");
      }
    };
    const del = async () => {
      if (!tr.dataset.key) {
        tr.remove();
        return;
      }
      if (!(await confirmDialog(`Remove ${entity} ${tr.dataset.key}?`))) return;
      try {
        await api("DELETE", urlOf(tr.dataset.key));
        tr.remove();
        toast(`${tr.dataset.key} removed`);
      } catch (e) {
        status.replaceChildren(errorBox(e));
      }
    };
    tr.save = save;
    tr.append(
      h(
        "td",
        { class: "actions" },
        h("button", { type: "button", class: "save-row", onclick: save }, "Save"),
        h("button", { type: "button", class: "danger", onclick: del }, "Remove"),
      ),
    );
    return tr;
  };
  for (const r of rows) tbody.append(makeRow(r, false));
  const filter = h("input", {
    type: "search",
    id: `${entity}-filter`,
    placeholder: `Filter ${title.toLowerCase()}…`,
    "aria-label": `filter ${title.toLowerCase()}`,
  });
  filter.addEventListener("input", () => {
    const q = filter.value.trim().toLowerCase();
    for (const tr of tbody.querySelectorAll("tr")) {
      const key = tr.querySelector(`[data-field="${keyField}"]`)?.value.toLowerCase() ?? "";
      tr.hidden = Boolean(q) && !key.includes(q) && !tr.classList.contains("new");
    }
  });
  const table = h(
    "table",
    { class: "edit-table", id: `${entity}-table` },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        bulk ? h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Select")) : null,
        ...editable.map((f) => {
          const l = fieldLabel(entity, f);
          return h(
            "th",
            {
              scope: "col",
              title: `${l.title}${f.options ? ` (${f.options.join(", ")})` : ""}`,
              "data-col": f.name,
            },
            l.label,
            l.unit ? h("span", { class: "unit" }, ` (${l.unit})`) : "",
          );
        }),
        h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")),
      ),
    ),
    tbody,
  );
  return h(
    "div",
    {},
    h(
      "div",
      { class: "toolbar" },
      h("h2", {}, title),
      h(
        "button",
        { type: "button", id: `add-${entity}`, onclick: () => tbody.append(makeRow({}, true)) },
        `Add ${entity}`,
      ),
      h(
        "a",
        {
          class: "button secondary",
          href: `/api/export?file=${entity}s&conn=${encodeURIComponent(id)}`,
        },
        "Export CSV",
      ),
    ),
    h("div", { class: "toolbar" }, filter, bulk ? bulkBar() : ""),
    status,
    h("div", { class: "scroll sticky", tabindex: 0 }, table),
  );

  /** Byte order and scale for the selected rows: set in their inputs, then each row saved. */
  function bulkBar() {
    const bo = fields.find((f) => f.name === "byte_order");
    const order = h(
      "select",
      { id: "bulk-byte-order", "aria-label": "byte order for the selected rows" },
      h("option", { value: "" }, "byte order: keep"),
      ...(bo?.options ?? []).map((o) => h("option", { value: String(o) }, String(o))),
    );
    const scale = h("input", {
      id: "bulk-scale",
      type: "text",
      inputmode: "decimal",
      placeholder: "scale: keep",
      "aria-label": "scale for the selected rows",
      size: 10,
    });
    const apply = async () => {
      const selected = [...tbody.querySelectorAll("tr")].filter(
        (tr) => !tr.hidden && tr.querySelector(".select-row")?.checked,
      );
      if (selected.length === 0) {
        toast("Select rows first (the box at the start of a row)", "bad");
        return;
      }
      for (const tr of selected) {
        if (order.value) tr.querySelector('[data-field="byte_order"]').value = order.value;
        if (scale.value.trim()) tr.querySelector('[data-field="scale"]').value = scale.value.trim();
        await tr.save();
      }
    };
    return h(
      "div",
      { class: "buttons tight", id: "bulk-edit" },
      order,
      scale,
      h(
        "button",
        { type: "button", class: "secondary", id: "bulk-apply", onclick: apply },
        "Apply to selected",
      ),
    );
  }
}
