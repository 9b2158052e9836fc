// The connection form (Add connection #/new, Settings tab).
import { errorSummary, toast } from "../components/feedback.js";
import { api } from "../core/api.js";
import { h, setMain } from "../core/dom.js";
import {
  clearErrors,
  fieldInput,
  fieldRow,
  parseInput,
  schemaInfo,
  showFieldError,
} from "../core/fields.js";
import { t } from "../core/i18n.js";

export async function connectionForm(existing) {
  const { fields: allFields, protocolFields: PROTOCOL_FIELDS } = await schemaInfo();
  const fields = allFields.connection;
  const form = h("form", { id: "conn-form", class: "card grid-form" });
  const rows = fields.map((f) => {
    const input = fieldInput(f, existing ? existing[f.name] : undefined, {
      disabled: existing && f.name === "conn_id" ? true : null,
      type: f.name === "password" ? "password" : undefined,
    });
    return fieldRow("connection", f, input);
  });
  const status = h("div", { class: "form-status" });
  form.append(
    ...rows,
    h(
      "div",
      { class: "buttons" },
      h("button", { type: "submit", id: "conn-save" }, existing ? t("common.save") : t("conn.add")),
    ),
    status,
  );
  const applyProtocol = () => {
    const p = form.querySelector('[data-field="protocol"]').value;
    for (const r of rows) {
      const only = PROTOCOL_FIELDS[r.dataset.row];
      r.hidden = Boolean(only && !only.includes(p));
    }
  };
  form.querySelector('[data-field="protocol"]').addEventListener("change", applyProtocol);
  applyProtocol();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const p = form.querySelector('[data-field="protocol"]').value;
    const body = {};
    for (const f of fields) {
      const only = PROTOCOL_FIELDS[f.name];
      if (only && !only.includes(p)) {
        // Not used by this protocol: cleared when it may be empty, else left at its default.
        if (f.nullable) body[f.name] = null;
        continue;
      }
      const v = parseInput(f, form.querySelector(`[data-field="${f.name}"]`));
      if (v !== undefined) body[f.name] = v;
    }
    try {
      if (existing) {
        body.conn_id = existing.conn_id;
        await api("PUT", `/api/connections/${encodeURIComponent(existing.conn_id)}`, body);
        toast(t("common.savedToast", { id: existing.conn_id }));
        status.replaceChildren(h("p", { class: "ok" }, t("common.saved")));
      } else {
        await api("POST", "/api/connections", body);
        toast(t("common.addedToast", { id: body.conn_id }));
        location.hash = `#/conn/${encodeURIComponent(body.conn_id)}/blocks`;
      }
    } catch (e) {
      const placed = (e.data?.error?.issues ?? []).filter(
        (i) => i.entity === "connection" && showFieldError(form, i.field, i.message),
      );
      status.replaceChildren(errorSummary(e, placed));
    }
  });
  return form;
}

export async function pageNewConnection() {
  setMain(h("h1", {}, t("conn.add")), await connectionForm(null));
}
