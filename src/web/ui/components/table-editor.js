// The editable table of devices, blocks or tags (one row per entity, Save per row): human
// column headers (label, unit; range and help in the tooltip), the key column as wide as its
// longest value, a sticky header, a filter, and (tags) bulk edit of byte order and scale
// for the selected rows.
import { api } from "../core/api.js";
import { h } from "../core/dom.js";
import { clearErrors, fieldInput, fieldLabel, parseInput, showFieldError } from "../core/fields.js";
import { t } from "../core/i18n.js";
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
          h("input", {
            type: "checkbox",
            class: "select-row",
            "aria-label": t("editor.selectRow"),
          }),
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
        showFieldError(tr, keyField, t("editor.keyEmpty", { field: keyField }));
        return;
      }
      try {
        await api("PUT", urlOf(original), body);
        tr.dataset.key = body[keyField];
        tr.classList.remove("new");
        toast(t("editor.savedToast", { what: t(`entity.${entity}`), key: body[keyField] }));
        status.replaceChildren(h("p", { class: "ok" }, t("editor.saved", { key: body[keyField] })));
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
      if (
        !(await confirmDialog(
          t("editor.removeConfirm", {
            what: t(`entity.${entity}`).toLowerCase(),
            key: tr.dataset.key,
          }),
        ))
      )
        return;
      try {
        await api("DELETE", urlOf(tr.dataset.key));
        tr.remove();
        toast(t("common.removedToast", { id: tr.dataset.key }));
      } catch (e) {
        status.replaceChildren(errorBox(e));
      }
    };
    tr.save = save;
    tr.append(
      h(
        "td",
        { class: "actions" },
        h("button", { type: "button", class: "save-row", onclick: save }, t("common.save")),
        h("button", { type: "button", class: "danger", onclick: del }, t("common.remove")),
      ),
    );
    return tr;
  };
  for (const r of rows) tbody.append(makeRow(r, false));
  const filter = h("input", {
    type: "search",
    id: `${entity}-filter`,
    placeholder: t("editor.filter", { what: title.toLowerCase() }),
    "aria-label": t("editor.filterLabel", { what: title.toLowerCase() }),
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
        bulk
          ? h("th", { scope: "col" }, h("span", { class: "sr-only" }, t("editor.select")))
          : null,
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
        h("th", { scope: "col" }, h("span", { class: "sr-only" }, t("editor.actions"))),
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
        t("editor.add", { what: t(`entity.${entity}`).toLowerCase() }),
      ),
      h(
        "a",
        {
          class: "button secondary",
          href: `/api/export?file=${entity}s&conn=${encodeURIComponent(id)}`,
        },
        t("editor.exportCsv"),
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
      { id: "bulk-byte-order", "aria-label": t("editor.bulkOrderLabel") },
      h("option", { value: "" }, t("editor.bulkOrderKeep")),
      ...(bo?.options ?? []).map((o) => h("option", { value: String(o) }, String(o))),
    );
    const scale = h("input", {
      id: "bulk-scale",
      type: "text",
      inputmode: "decimal",
      placeholder: t("editor.bulkScaleKeep"),
      "aria-label": t("editor.bulkScaleLabel"),
      size: 10,
    });
    const apply = async () => {
      const selected = [...tbody.querySelectorAll("tr")].filter(
        (tr) => !tr.hidden && tr.querySelector(".select-row")?.checked,
      );
      if (selected.length === 0) {
        toast(t("editor.selectFirst"), "bad");
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
        t("editor.applySelected"),
      ),
    );
  }
}
