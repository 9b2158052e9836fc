// Feedback widgets: toasts, error boxes, state badges, the confirm dialog.
import { $, h } from "../core/dom.js";
import { t } from "../core/i18n.js";

export function toast(text, kind = "info") {
  const el = h("div", { class: `toast ${kind}`, role: "status" }, text);
  document.body.append(el);
  setTimeout(() => el.remove(), 5000);
}

export function errorBox(err) {
  const box = h("div", { class: "error", role: "alert" }, err.message);
  const issues = err.data?.error?.issues;
  if (Array.isArray(issues)) {
    box.append(
      h(
        "ul",
        {},
        ...issues.map((i) => h("li", {}, `${i.key || i.entity} · ${i.field}: ${i.message}`)),
      ),
    );
  }
  return box;
}

export function stateBadge(status) {
  const s = status?.state ?? "unknown";
  return h("span", { class: `badge state-${s}`, title: status?.reason ?? "" }, s);
}

/** A modal yes/no question. Resolves true on "Confirm". */
export function confirmDialog(text, confirmLabel = t("common.confirm")) {
  const dlg = $("#dialog");
  return new Promise((resolve) => {
    const done = (v) => {
      dlg.close();
      resolve(v);
    };
    dlg.replaceChildren(
      h("p", { id: "confirm-text" }, text),
      h(
        "div",
        { class: "buttons" },
        h("button", { type: "button", id: "confirm-yes", onclick: () => done(true) }, confirmLabel),
        h(
          "button",
          { type: "button", class: "secondary", onclick: () => done(false) },
          t("common.cancel"),
        ),
      ),
    );
    dlg.showModal();
  });
}

/**
 * The error of a refused save when `placed` of its issues are already shown next to their
 * fields: one line, and the other issues (follow-on problems, e.g. the tags a wrong block
 * count leaves outside the block) folded away, never a second copy of the placed ones.
 */
export function errorSummary(err, placed) {
  const issues = err.data?.error?.issues;
  if (!Array.isArray(issues) || placed.length === 0) return errorBox(err);
  const rest = issues.filter((i) => !placed.includes(i));
  const box = h(
    "div",
    { class: "error", role: "alert" },
    t("feedback.notSaved", { fields: placed.map((i) => i.field).join(", ") }),
  );
  if (rest.length) {
    box.append(
      h(
        "details",
        { class: "follow-on" },
        h("summary", {}, t("feedback.followOn", { n: rest.length })),
        h(
          "ul",
          {},
          ...rest.map((i) => h("li", {}, `${i.key || i.entity} · ${i.field}: ${i.message}`)),
        ),
      ),
    );
  }
  return box;
}
