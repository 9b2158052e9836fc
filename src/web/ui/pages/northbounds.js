// Northbound page (#/north): every northbound with its app's health.
import { confirmDialog, errorBox, stateBadge, toast } from "../components/feedback.js";
import { api } from "../core/api.js";
import { h, onCleanup, setMain } from "../core/dom.js";
import { fmtValue } from "../core/format.js";

/** The password cell of a northbound as the API answers it (never the password itself). */
export const WITHHELD = "*withheld*";

export function northBroker(st) {
  if (!st || st.broker_connected === null || st.broker_connected === undefined) return "—";
  return st.broker_connected ? "connected" : "disconnected";
}

export async function northAction(id, verb) {
  try {
    if (verb === "remove") {
      if (!(await confirmDialog(`Remove northbound ${id}? Its app is stopped.`))) return false;
      await api("DELETE", `/api/northbounds/${encodeURIComponent(id)}`);
      toast(`${id} removed`);
    } else {
      await api("POST", `/api/northbounds/${encodeURIComponent(id)}/${verb}`);
      toast(`${id} ${verb}d`);
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
    "Northbound",
    "Kind",
    "Brokers",
    "Enabled",
    "State",
    "Reason",
    "Broker",
    "Buffered",
    "Dropped",
    "Msgs/s",
    "Last error",
    "",
  ];
  setMain(
    h(
      "div",
      { class: "toolbar" },
      h("h1", {}, "Northbound"),
      h("a", { class: "button", href: "#/north-new", id: "add-north" }, "Add northbound"),
    ),
    err,
    h(
      "table",
      { id: "north-table" },
      h("thead", {}, h("tr", {}, ...cols.map((t) => h("th", {}, t)))),
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
          h("td", {}, n.enabled ? "yes" : "no"),
          h(
            "td",
            { class: "state" },
            n.enabled ? stateBadge(st) : h("span", { class: "badge" }, "disabled"),
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
              n.enabled ? "Disable" : "Enable",
            ),
            h(
              "button",
              {
                type: "button",
                class: "danger",
                onclick: () => northAction(n.north_id, "remove").then(refresh),
              },
              "Remove",
            ),
          ),
        );
      }),
    );
    if (data.northbounds.length === 0) {
      tbody.append(
        h("tr", {}, h("td", { colspan: cols.length, class: "muted" }, "No northbounds yet.")),
      );
    }
  }
  await refresh();
  const t = setInterval(refresh, 2000);
  onCleanup(() => clearInterval(t));
}
