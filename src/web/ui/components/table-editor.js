// The editable table of devices, blocks or tags (one row per entity, Save per row).
import { api } from "../core/api.js";
import { h } from "../core/dom.js";
import { clearErrors, fieldInput, parseInput, showFieldError } from "../core/fields.js";
import { confirmDialog, errorBox, toast } from "./feedback.js";

// ---- blocks and tags tables

export function tableEditor({ id, entity, rows, keyField, fields, urlOf, title }) {
  const editable = fields.filter((f) => f.name !== "conn_id");
  const tbody = h("tbody");
  const status = h("div", { class: "form-status" });
  const makeRow = (row, isNew) => {
    const tr = h("tr", { "data-key": isNew ? "" : row[keyField], class: isNew ? "new" : "" });
    for (const f of editable)
      tr.append(h("td", {}, fieldInput(f, row[f.name], { "aria-label": f.name })));
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
        let placed = 0;
        for (const i of e.data?.error?.issues ?? []) {
          if (
            i.entity === entity &&
            (i.key === `${id}/${body[keyField]}` || i.key === `${id}/${original}`)
          ) {
            if (showFieldError(tr, i.field, i.message)) placed++;
          }
        }
        status.replaceChildren(errorBox(e));
        if (placed === 0 && e.data?.error?.issues === undefined) toast(e.message, "bad");
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
  const table = h(
    "table",
    { class: "edit-table", id: `${entity}-table` },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ...editable.map((f) =>
          h("th", { title: f.options ? f.options.join(", ") : f.kind }, f.name),
        ),
        h("th", {}, ""),
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
    status,
    h("div", { class: "scroll", tabindex: 0 }, table),
  );
}
