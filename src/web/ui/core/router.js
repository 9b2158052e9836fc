// Hash routing: `#/first/rest…` → the page registered for `first` (see app.js).
import { errorBox } from "../components/feedback.js";
import { state } from "./api.js";
import { cleanup, h, setMain } from "./dom.js";

/**
 * The routes: first path segment → `{ page(parts), nav }`, where `page` renders into #main
 * (awaited; errors are shown in place) and `nav` is the `#/…` link of #nav marked active.
 */
let routes = {};

/** Sets the route table (app.js). */
export function setRoutes(table) {
  routes = table;
}

/** Renders the page of the current `location.hash`; nothing while logged out. */
export async function route() {
  cleanup();
  if (!state.user) return;
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const r = routes[parts[0] ?? ""];
  try {
    if (r) await r.page(parts);
    else setMain(h("p", {}, "Not found. ", h("a", { href: "#/" }, "Overview")));
  } catch (e) {
    if (e.status !== 401) setMain(errorBox(e));
  }
  const active = r ? r.nav : "";
  for (const a of document.querySelectorAll("#nav a")) {
    a.classList.toggle("active", a.getAttribute("href") === `#/${active}`);
  }
}
