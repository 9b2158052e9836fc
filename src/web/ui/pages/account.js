// Account page (#/account): password change, API tokens.
import { errorBox, toast } from "../components/feedback.js";
import { api, state } from "../core/api.js";
import { $, h, setMain } from "../core/dom.js";
import { clearErrors } from "../core/fields.js";
import { fmtDateTime } from "../core/format.js";
import { route } from "../core/router.js";
import { showLogin } from "./login.js";

export async function pageAccount() {
  const tokens = await api("GET", "/api/tokens");
  const pw = h(
    "form",
    { class: "card narrow", id: "password-form" },
    h("h2", {}, `Password of ${state.user}`),
    h(
      "label",
      {},
      "Current",
      h("input", { name: "current", type: "password", autocomplete: "current-password" }),
    ),
    h(
      "label",
      {},
      "New (8+ characters)",
      h("input", { name: "new", type: "password", autocomplete: "new-password" }),
    ),
    h("button", { type: "submit" }, "Change password"),
  );
  pw.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("POST", "/api/password", { current: pw.current.value, new: pw.new.value });
      toast("Password changed; log in again");
      showLogin(false);
    } catch (e) {
      clearErrors(pw);
      pw.append(errorBox(e));
    }
  });
  const shown = h("div");
  const tokForm = h(
    "form",
    { class: "card", id: "token-form" },
    h("h2", {}, "API tokens"),
    h(
      "p",
      { class: "muted" },
      "For scripts: send Authorization: Bearer TOKEN (docs/api.md). A token is shown once.",
    ),
    h("label", {}, "Name ", h("input", { name: "name", placeholder: "e.g. historian" })),
    h("button", { type: "submit" }, "Create token"),
    shown,
    h(
      "table",
      {},
      h(
        "thead",
        {},
        h("tr", {}, ...["Name", "User", "Created", "Last used", ""].map((x) => h("th", {}, x))),
      ),
      h(
        "tbody",
        {},
        ...tokens.tokens.map((t) =>
          h(
            "tr",
            {},
            h("td", {}, t.name),
            h("td", {}, t.username),
            h("td", {}, fmtDateTime(t.created_at)),
            h("td", {}, t.last_used_at ? fmtDateTime(t.last_used_at) : "never"),
            h(
              "td",
              {},
              h(
                "button",
                {
                  type: "button",
                  class: "danger",
                  onclick: async () => {
                    await api("DELETE", `/api/tokens/${encodeURIComponent(t.name)}`);
                    route();
                  },
                },
                "Revoke",
              ),
            ),
          ),
        ),
      ),
    ),
  );
  tokForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await api("POST", "/api/tokens", { name: tokForm.name.value });
      await pageAccount();
      $("#token-form div").replaceChildren(
        h("p", { class: "ok" }, "Copy it now: ", h("code", { id: "new-token" }, r.token)),
      );
    } catch (e) {
      shown.replaceChildren(errorBox(e));
    }
  });
  setMain(h("h1", {}, "Account"), pw, tokForm);
}
