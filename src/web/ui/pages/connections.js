// Connections page (#/connections): every connection with its live state.
import { confirmDialog, errorBox, stateBadge, toast } from "../components/feedback.js";
import { api } from "../core/api.js";
import { h, onCleanup, setMain } from "../core/dom.js";
import { addressOf, fmtDateTime } from "../core/format.js";

export async function pageConnections() {
  const tbody = h("tbody");
  const err = h("div");
  const table = h(
    "table",
    { id: "conn-table" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ...[
          "Connection",
          "Protocol",
          "Address",
          "Enabled",
          "State",
          "Reason",
          "Last good poll",
          "Errors",
          "Restarts",
          "",
        ].map((t) => h("th", {}, t)),
      ),
    ),
    tbody,
  );
  setMain(
    h(
      "div",
      { class: "toolbar" },
      h("h1", {}, "Connections"),
      h("a", { class: "button", href: "#/new", id: "add-connection" }, "Add connection"),
    ),
    err,
    h("div", { class: "scroll", tabindex: 0 }, table),
  );
  async function refresh() {
    let data;
    try {
      data = await api("GET", "/api/connections");
      err.replaceChildren();
    } catch (e) {
      if (e.status !== 401) err.replaceChildren(errorBox(e));
      return;
    }
    tbody.replaceChildren(
      ...data.connections.map((c) => {
        const st = c.status ?? {};
        const errs = Object.entries(st.errors ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(" ");
        return h(
          "tr",
          { "data-conn": c.conn_id },
          h("td", {}, h("a", { href: `#/conn/${encodeURIComponent(c.conn_id)}/live` }, c.conn_id)),
          h("td", {}, c.protocol),
          h("td", {}, addressOf(c)),
          h("td", {}, c.enabled ? "yes" : "no"),
          h(
            "td",
            { class: "state" },
            c.enabled ? stateBadge(c.status) : h("span", { class: "badge" }, "disabled"),
          ),
          h(
            "td",
            { class: "muted", title: st.cause ?? "" },
            c.status?.reason ?? "",
            st.cause ? h("div", { class: "cause" }, st.cause) : "",
          ),
          h("td", {}, st.last_good_poll ? fmtDateTime(st.last_good_poll) : "never"),
          h(
            "td",
            {
              title: `${errs}${st.writes_refused ? `; ${st.writes_refused} write(s) refused` : ""}`,
            },
            st.error_total ?? "",
          ),
          h(
            "td",
            { title: "restarts after a failure; requested = after a settings change (exit 75)" },
            st.restarts ?? "",
            st.restarts_requested ? ` (+${st.restarts_requested} requested)` : "",
          ),
          h(
            "td",
            { class: "actions" },
            h(
              "button",
              {
                type: "button",
                onclick: () => toggleEnabled(c.conn_id, !c.enabled).then(refresh),
              },
              c.enabled ? "Disable" : "Enable",
            ),
            h(
              "button",
              {
                type: "button",
                class: "danger",
                onclick: () => removeConnection(c.conn_id).then(refresh),
              },
              "Remove",
            ),
          ),
        );
      }),
    );
    if (data.connections.length === 0) {
      tbody.append(h("tr", {}, h("td", { colspan: 10, class: "muted" }, "No connections yet.")));
    }
  }
  await refresh();
  const t = setInterval(refresh, 2000);
  onCleanup(() => clearInterval(t));
}

export async function toggleEnabled(id, enabled) {
  try {
    await api(
      "POST",
      `/api/connections/${encodeURIComponent(id)}/${enabled ? "enable" : "disable"}`,
    );
    toast(`${id} ${enabled ? "enabled" : "disabled"}`);
  } catch (e) {
    toast(e.message, "bad");
  }
}

export async function removeConnection(id) {
  if (
    !(await confirmDialog(
      `Remove connection ${id} with all its blocks and tags? Its app is stopped.`,
    ))
  )
    return;
  try {
    await api("DELETE", `/api/connections/${encodeURIComponent(id)}`);
    toast(`${id} removed`);
    if (location.hash.startsWith("#/conn/")) location.hash = "#/connections";
  } catch (e) {
    toast(e.message, "bad");
  }
}
