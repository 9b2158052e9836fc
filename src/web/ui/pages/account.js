// Account page (#/account): password change, API tokens.
import { errorBox, toast } from "../components/feedback.js";
import { api, state } from "../core/api.js";
import { $, h, setMain } from "../core/dom.js";
import { clearErrors } from "../core/fields.js";
import { fmtDateTime } from "../core/format.js";
import { t } from "../core/i18n.js";
import { route } from "../core/router.js";
import { showLogin } from "./login.js";

export async function pageAccount() {
  const tokens = await api("GET", "/api/tokens");
  const pw = h(
    "form",
    { class: "card narrow", id: "password-form" },
    h("h2", {}, t("account.passwordOf", { user: state.user })),
    h(
      "label",
      {},
      t("account.current"),
      h("input", { name: "current", type: "password", autocomplete: "current-password" }),
    ),
    h(
      "label",
      {},
      t("account.new"),
      h("input", { name: "new", type: "password", autocomplete: "new-password" }),
    ),
    h("button", { type: "submit" }, t("account.change")),
  );
  pw.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("POST", "/api/password", { current: pw.current.value, new: pw.new.value });
      toast(t("account.changed"));
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
    h("h2", {}, t("account.tokens")),
    h("p", { class: "muted" }, t("account.tokensHelp")),
    h(
      "label",
      {},
      `${t("account.name")} `,
      h("input", { name: "name", placeholder: t("account.namePlaceholder") }),
    ),
    h("button", { type: "submit" }, t("account.create")),
    shown,
    h(
      "table",
      {},
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...["account.name", "login.user", "account.created", "account.lastUsed"].map((x) =>
            h("th", {}, t(x)),
          ),
          h("th", {}, ""),
        ),
      ),
      h(
        "tbody",
        {},
        ...tokens.tokens.map((tok) =>
          h(
            "tr",
            {},
            h("td", {}, tok.name),
            h("td", {}, tok.username),
            h("td", {}, fmtDateTime(tok.created_at)),
            h("td", {}, tok.last_used_at ? fmtDateTime(tok.last_used_at) : t("common.never")),
            h(
              "td",
              {},
              h(
                "button",
                {
                  type: "button",
                  class: "danger",
                  onclick: async () => {
                    await api("DELETE", `/api/tokens/${encodeURIComponent(tok.name)}`);
                    route();
                  },
                },
                t("account.revoke"),
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
        h(
          "p",
          { class: "ok" },
          `${t("account.copyNow")} `,
          h("code", { id: "new-token" }, r.token),
        ),
      );
    } catch (e) {
      shown.replaceChildren(errorBox(e));
    }
  });
  setMain(h("h1", {}, t("nav.account")), pw, tokForm);
}
