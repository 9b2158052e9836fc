// Northbound page (#/north): every northbound with its app's health.
import { confirmDialog, errorBox, stateBadge, toast } from "../components/feedback.js";
import { api } from "../core/api.js";
import { h, onCleanup, setMain } from "../core/dom.js";
import { fmtValue } from "../core/format.js";
import { t } from "../core/i18n.js";

/** The password cell of a northbound as the API answers it (never the password itself). */
export const WITHHELD = "*withheld*";

export function northBroker(st) {
  if (!st || st.broker_connected === null || st.broker_connected === undefined) return "—";
  return st.broker_connected ? t("overview.connected") : t("overview.disconnected");
}

export async function northAction(id, verb) {
  try {
    if (verb === "remove") {
      if (!(await confirmDialog(t("north.removeConfirm", { id })))) return false;
      await api("DELETE", `/api/northbounds/${encodeURIComponent(id)}`);
      toast(t("common.removedToast", { id }));
    } else {
      await api("POST", `/api/northbounds/${encodeURIComponent(id)}/${verb}`);
      toast(t(verb === "enable" ? "conn.enabledToast" : "conn.disabledToast", { id }));
    }
    return true;
  } catch (e) {
    toast(e.message, "bad");
    return false;
  }
}

export async function pageNorthbounds() {
  const tbody = h("tbody");
  const err = h("div");
  const cols = [
    "north.col.north",
    "north.col.kind",
    "north.col.brokers",
    "conn.col.enabled",
    "conn.col.state",
    "conn.col.reason",
    "north.col.broker",
    "north.col.buffered",
    "north.col.dropped",
    "north.col.rate",
    "north.col.lastError",
    "",
  ];
  setMain(
    h(
      "div",
      { class: "toolbar" },
      h("h1", {}, t("nav.north")),
      h("a", { class: "button", href: "#/north-new", id: "add-north" }, t("north.add")),
    ),
    err,
    h(
      "table",
      { id: "north-table" },
      h("thead", {}, h("tr", {}, ...cols.map((k) => h("th", {}, k ? t(k) : "")))),
      tbody,
    ),
  );
  async function refresh() {
    let data;
    try {
      data = await api("GET", "/api/northbounds");
      err.replaceChildren();
    } catch (e) {
      if (e.status !== 401) err.replaceChildren(errorBox(e));
      return;
    }
    tbody.replaceChildren(
      ...data.northbounds.map((n) => {
        const st = n.status ?? {};
        return h(
          "tr",
          { "data-north": n.north_id },
          h("td", {}, h("a", { href: `#/north/${encodeURIComponent(n.north_id)}` }, n.north_id)),
          h("td", {}, n.kind === "sparkplug" ? `sparkplug ${n.group_id ?? ""}` : n.kind),
          h("td", {}, n.broker_urls),
          h("td", {}, n.enabled ? t("common.yes") : t("common.no")),
          h(
            "td",
            { class: "state" },
            n.enabled ? stateBadge(st) : h("span", { class: "badge" }, t("common.disabled")),
          ),
          h("td", { class: "muted" }, st.reason ?? ""),
          h("td", { class: "broker" }, northBroker(st)),
          h("td", { class: "buffered" }, fmtValue(st.buffered)),
          h("td", {}, fmtValue(st.dropped)),
          h("td", {}, fmtValue(st.msgs_per_s)),
          h("td", { class: "muted" }, st.last_error ? st.last_error.message : ""),
          h(
            "td",
            { class: "actions" },
            h(
              "button",
              {
                type: "button",
                onclick: () =>
                  northAction(n.north_id, n.enabled ? "disable" : "enable").then(refresh),
              },
              n.enabled ? t("common.disable") : t("common.enable"),
            ),
            h(
              "button",
              {
                type: "button",
                class: "danger",
                onclick: () => northAction(n.north_id, "remove").then(refresh),
              },
              t("common.remove"),
            ),
          ),
        );
      }),
    );
    if (data.northbounds.length === 0) {
      tbody.append(h("tr", {}, h("td", { colspan: cols.length, class: "muted" }, t("north.none"))));
    }
  }
  await refresh();
  const timer = setInterval(refresh, 2000);
  onCleanup(() => clearInterval(timer));
}
