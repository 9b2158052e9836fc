// The store's field list (`GET /api/schema`): inputs per field, parsing, field errors.
import { api, state } from "./api.js";
import { h } from "./dom.js";

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
