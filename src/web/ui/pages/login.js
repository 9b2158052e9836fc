// The login form and entering the app.
import { api, state } from "../core/api.js";
import { $, cleanup, h, setMain } from "../core/dom.js";
import { t } from "../core/i18n.js";
import { route } from "../core/router.js";

export function showLogin(setup) {
  cleanup();
  $("#nav").hidden = true;
  const err = h("p", { class: "error", id: "login-error", hidden: true });
  const form = h(
    "form",
    { id: "login-form", class: "card narrow" },
    h("h1", {}, t("login.title")),
    setup ? h("p", { class: "muted" }, t("login.setup")) : null,
    h(
      "label",
      {},
      t("login.user"),
      h("input", { name: "username", autocomplete: "username", required: true }),
    ),
    h(
      "label",
      {},
      t("login.password"),
      h("input", {
        name: "password",
        type: "password",
        autocomplete: "current-password",
        required: true,
      }),
    ),
    h("button", { type: "submit" }, t("login.submit")),
    err,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    try {
      const r = await api("POST", "/api/login", {
        username: form.username.value,
        password: form.password.value,
      });
      state.user = r.username;
      state.csrf = r.csrf;
      enterApp();
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
    }
  });
  setMain(form);
}

export function enterApp() {
  $("#nav").hidden = false;
  $("#who").textContent = state.user;
  if (location.hash === "" || location.hash === "#login") location.hash = "#/";
  route();
}
