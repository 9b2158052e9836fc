// The write dialog of a read-write tag: value, confirmation, the device's answer.
import { api } from "../core/api.js";
import { $, h } from "../core/dom.js";
import { t } from "../core/i18n.js";

/** Asks for a value, confirms, writes, and shows the device's answer. */
export function writeDialog(id, tag) {
  const dlg = $("#dialog");
  const path = `/${id}/${tag.tag_name}`;
  const isBool = tag.data_type === "bool" || tag.data_type === "bit";
  const input = isBool
    ? h(
        "select",
        { id: "write-value" },
        h("option", { value: "true" }, t("write.true")),
        h("option", { value: "false" }, t("write.false")),
      )
    : h("input", {
        id: "write-value",
        type: "text",
        inputmode: tag.data_type === "string" ? null : "decimal",
        autofocus: true,
      });
  const result = h("div", { id: "write-result" });
  const writeBtn = h("button", { type: "button", id: "write-go" }, t("write.write"));
  const form = h(
    "div",
    {},
    h("h2", {}, t("write.title", { path })),
    h(
      "p",
      { class: "muted" },
      `${tag.data_type}${tag.unit ? `, ${tag.unit}` : ""}. ${t("write.sent")}`,
    ),
    h("label", {}, `${t("write.value")} `, input),
    h(
      "div",
      { class: "buttons" },
      writeBtn,
      h(
        "button",
        { type: "button", class: "secondary", onclick: () => dlg.close() },
        t("common.close"),
      ),
    ),
    result,
  );
  writeBtn.addEventListener("click", () => {
    // Exactly what was typed, as text: the server's strict conversion
    // (src/core/write-value.ts) decides, and its refusal names that text. Number() here
    // turned "0x10" into 16 and "abc" into NaN (sent as null).
    const value = isBool ? input.value === "true" : input.value;
    result.replaceChildren(
      h(
        "p",
        { id: "write-confirm-text" },
        t("write.confirmText", { value: JSON.stringify(value), path }),
      ),
      h(
        "div",
        { class: "buttons" },
        h(
          "button",
          {
            type: "button",
            id: "write-confirm",
            onclick: async () => {
              result.replaceChildren(h("p", { class: "muted" }, t("write.writing")));
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
                    t("write.done", { path, value: JSON.stringify(r.value), ms: r.elapsed_ms }),
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
                        t("write.unknown"),
                        h("br"),
                        h("span", { class: "muted" }, msg),
                      )
                    : h(
                        "p",
                        { class: "bad", id: "write-failed" },
                        `${t("write.failed", { reason })}${msg && msg !== reason ? ` — ${msg}` : ""}`,
                      ),
                );
              }
            },
          },
          t("write.confirm"),
        ),
        h(
          "button",
          { type: "button", class: "secondary", onclick: () => result.replaceChildren() },
          t("common.cancel"),
        ),
      ),
    );
  });
  dlg.replaceChildren(form);
  dlg.showModal();
}
