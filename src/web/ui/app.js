// Nodi Edge web UI: ES modules, no library, no build step. Embedded in the ne-web executable
// (src/web/assets.ts lists every file). Talks to the JSON API of docs/api.md with the session
// cookie and the CSRF token of /api/session; live values arrive by server-sent events.
// Layout: core/ (API client, DOM helpers, formats, schema fields, router), components/
// (widgets used by several pages), pages/ (one module per page or tab). See docs/web.md.
import { api, onUnauthorized, state } from "./core/api.js";
import { $ } from "./core/dom.js";
import { currentLang, LANGUAGES, setLang, translatePage } from "./core/i18n.js";
import { route, setRoutes } from "./core/router.js";
import { pageAccount } from "./pages/account.js";
import { pageAudit } from "./pages/audit.js";
import { pageConnection } from "./pages/connection.js";
import { pageNewConnection } from "./pages/connection-form.js";
import { pageConnections } from "./pages/connections.js";
import { pageCsv } from "./pages/csv.js";
import { enterApp, showLogin } from "./pages/login.js";
import { pageNewNorthbound, pageNorthbound } from "./pages/northbound.js";
import { pageNorthbounds } from "./pages/northbounds.js";
import { pageOverview } from "./pages/overview.js";
import { pageProfile, pageProfiles } from "./pages/profiles.js";

// First path segment of the hash → page; `nav` = the #nav link shown active.
setRoutes({
  "": { page: () => pageOverview(), nav: "" },
  connections: { page: () => pageConnections(), nav: "connections" },
  new: { page: () => pageNewConnection(), nav: "connections" },
  conn: {
    page: (p) => (p[1] ? pageConnection(p[1], p[2] ?? "live") : pageConnections()),
    nav: "connections",
  },
  north: { page: (p) => (p[1] ? pageNorthbound(p[1]) : pageNorthbounds()), nav: "north" },
  "north-new": { page: () => pageNewNorthbound(), nav: "north" },
  profiles: { page: () => pageProfiles(), nav: "profiles" },
  profile: { page: (p) => (p[1] ? pageProfile(p[1]) : pageProfiles()), nav: "profiles" },
  csv: { page: () => pageCsv(), nav: "csv" },
  audit: { page: () => pageAudit(), nav: "audit" },
  account: { page: () => pageAccount(), nav: "account" },
});

onUnauthorized(() => showLogin(false));

async function start() {
  const langSel = $("#lang");
  for (const [code, name] of LANGUAGES) {
    const o = document.createElement("option");
    o.value = code;
    o.textContent = name;
    o.selected = code === currentLang();
    langSel.append(o);
  }
  langSel.addEventListener("change", () =>
    setLang(langSel.value, () => (state.user ? route() : showLogin(false))),
  );
  translatePage();
  $("#logout").addEventListener("click", async () => {
    try {
      await api("POST", "/api/logout");
    } finally {
      state.user = null;
      state.csrf = null;
      showLogin(false);
    }
  });
  window.addEventListener("hashchange", route);
  try {
    const s = await api("GET", "/api/session");
    state.user = s.username;
    state.csrf = s.csrf;
    enterApp();
  } catch (e) {
    showLogin(Boolean(e.data?.setup));
  }
}

start();
