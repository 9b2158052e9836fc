// The write dialog of a read-write tag: value, confirmation, the device's answer.
import { api } from "../core/api.js";
import { $, h } from "../core/dom.js";

/** Asks for a value, confirms, writes, and shows the device's answer. */
export function writeDialog(id, tag) {
  const dlg = $("#dialog");
  const path = `/${id}/${tag.tag_name}`;
  const isBool = tag.data_type === "bool" || tag.data_type === "bit";
  const input = isBool
    ? h(
        "select",
        { id: "write-value" },
        h("option", { value: "true" }, "true (1)"),
        h("option", { value: "false" }, "false (0)"),
      )
    : h("input", {
        id: "write-value",
        type: "text",
        inputmode: tag.data_type === "string" ? null : "decimal",
        autofocus: true,
      });
  const result = h("div", { id: "write-result" });
  const writeBtn = h("button", { type: "button", id: "write-go" }, "Write");
  const form = h(
    "div",
    {},
    h("h2", {}, `Write ${path}`),
    h(
      "p",
      { class: "muted" },
      `${tag.data_type}${tag.unit ? `, ${tag.unit}` : ""}. The value is sent to the device.`,
    ),
    h("label", {}, "Value ", input),
    h(
      "div",
      { class: "buttons" },
      writeBtn,
      h("button", { type: "button", class: "secondary", onclick: () => dlg.close() }, "Close"),
    ),
    result,
  );
  writeBtn.addEventListener("click", () => {
    // Exactly what was typed, as text: the server's strict conversion
    // (src/core/write-value.ts) decides, and its refusal names that text. Number() here
    // turned "0x10" into 16 and "abc" into NaN (sent as null).
    const value = isBool ? input.value === "true" : input.value;
    result.replaceChildren(
      h("p", { id: "write-confirm-text" }, `Write ${JSON.stringify(value)} to ${path}?`),
      h(
        "div",
        { class: "buttons" },
        h(
          "button",
          {
            type: "button",
            id: "write-confirm",
            onclick: async () => {
              result.replaceChildren(h("p", { class: "muted" }, "writing…"));
              try {
                const r = await api(
                  "POST",
                  `/api/connections/${encodeURIComponent(id)}/tags/${encodeURIComponent(tag.tag_name)}/write`,
                  { value },
                );
                result.replaceChildren(
                  h(
                    "p",
                    { class: "ok", id: "write-done" },
                    `Done: ${path} = ${JSON.stringify(r.value)} (${r.elapsed_ms} ms)`,
                  ),
                );
              } catch (e) {
                const reason = e.data?.reason ?? e.data?.error?.reason ?? "";
                const msg = e.data?.message ?? e.message;
                result.replaceChildren(
                  reason === "outcome_unknown"
                    ? h(
                        "p",
                        { class: "bad", id: "write-unknown" },
                        "Outcome unknown: the device may have applied it; read back before retrying.",
                        h("br"),
                        h("span", { class: "muted" }, msg),
                      )
                    : h(
                        "p",
                        { class: "bad", id: "write-failed" },
                        `Failed: ${reason}${msg && msg !== reason ? ` — ${msg}` : ""}`,
                      ),
                );
              }
            },
          },
          "Confirm write",
        ),
        h(
          "button",
          { type: "button", class: "secondary", onclick: () => result.replaceChildren() },
          "Cancel",
        ),
      ),
    );
  });
  dlg.replaceChildren(form);
  dlg.showModal();
}
