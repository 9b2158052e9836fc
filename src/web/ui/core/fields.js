// The store's field list (`GET /api/schema`): inputs per field, parsing, field errors.
import { api, state } from "./api.js";
import { h } from "./dom.js";
import { currentLang, t as tr } from "./i18n.js";

/** `GET /api/schema`, fetched once: `{ fields, protocolFields }`. */
export async function schemaInfo() {
  state.schema ??= await api("GET", "/api/schema");
  return state.schema;
}

export async function schema() {
  return (await schemaInfo()).fields;
}

/** Parses a form input into the JSON value the API expects for `field`. */
export function parseInput(field, input) {
  if (field.kind === "boolean") return input.checked;
  const raw = input.value.trim();
  if (raw === "") return field.nullable ? null : undefined;
  if (field.kind === "number") {
    const n = Number(raw);
    return Number.isFinite(n) ? n : raw;
  }
  return raw;
}

export function fieldInput(field, value, attrs = {}) {
  const common = { name: field.name, "data-field": field.name, ...attrs };
  if (field.kind === "boolean") {
    return h("input", { ...common, type: "checkbox", checked: value ?? field.default ?? false });
  }
  if (field.options) {
    return h(
      "select",
      common,
      field.required ? null : h("option", { value: "" }, ""),
      ...field.options.map((o) =>
        h("option", { value: String(o), selected: String(o) === String(value ?? "") }, String(o)),
      ),
    );
  }
  return h("input", {
    ...common,
    type: "text",
    value: value === null || value === undefined ? "" : String(value),
    inputmode: field.kind === "number" ? "decimal" : null,
  });
}

/** Marks `field` inputs inside `root` with the issue message (rule named by the server). */
export function showFieldError(root, field, message) {
  const input = root.querySelector(`[data-field="${CSS.escape(field)}"]`);
  if (!input) return false;
  input.classList.add("invalid");
  input.setAttribute("aria-invalid", "true");
  const msg = h("div", { class: "field-error", "data-error-for": field }, message);
  input.after(msg);
  return true;
}

export function clearErrors(root) {
  for (const e of root.querySelectorAll(".field-error, .error")) e.remove();
  for (const e of root.querySelectorAll(".invalid")) {
    e.classList.remove("invalid");
    e.removeAttribute("aria-invalid");
  }
}

/** The range of a number field as text: `1–65535`, `≥ 0`, or "". */
export function rangeText(field) {
  if (field.min !== undefined && field.max !== undefined) return `${field.min}–${field.max}`;
  if (field.min !== undefined) return `≥ ${field.min}`;
  if (field.max !== undefined) return `≤ ${field.max}`;
  return "";
}

/**
 * A form label for `entity`.`field` (text of /api/schema: label, unit, help; range and
 * default from the schema): `{ label, unit, title, help }`; the field name when no text is
 * written.
 */
export function fieldLabel(entity, field) {
  const t = state.schema?.text?.[entity]?.[field.name];
  const range = rangeText(field);
  const extra = [
    range ? `${range}${t?.unit ? ` ${t.unit}` : ""}` : "",
    field.default !== undefined && field.default !== ""
      ? tr("field.default", { value: field.default })
      : "",
  ].filter(Boolean);
  const ownHelp = (t?.help && state.schema?.helps?.[currentLang()]?.[t.help]) ?? t?.help ?? "";
  const help = [ownHelp, extra.join(", ")].filter(Boolean).join(" ");
  return {
    label: (t?.label && state.schema?.labels?.[currentLang()]?.[t.label]) ?? t?.label ?? field.name,
    unit: t?.unit ?? "",
    help,
    title: `${field.name}${help ? `: ${help}` : ""}`,
  };
}

/** A labelled form row for `field`: label (unit), the input, one line of help. */
export function fieldRow(entity, field, input) {
  const l = fieldLabel(entity, field);
  const helpId = `help-${entity}-${field.name}`;
  if (l.help) input.setAttribute("aria-describedby", helpId);
  return h(
    "label",
    { class: "field", "data-row": field.name, title: field.name },
    h(
      "span",
      { class: "label" },
      l.label,
      l.unit ? h("span", { class: "unit" }, ` (${l.unit})`) : "",
    ),
    input,
    l.help ? h("span", { class: "help", id: helpId }, l.help) : "",
  );
}
