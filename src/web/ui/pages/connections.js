// Connections page (#/connections): every connection with its live state.
import { confirmDialog, errorBox, stateBadge, toast } from "../components/feedback.js";
import { api } from "../core/api.js";
import { h, onCleanup, setMain } from "../core/dom.js";
import { addressOf, fmtLastGood, lastGoodHelp } from "../core/format.js";
import { t } from "../core/i18n.js";

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
          "conn.col.connection",
          "conn.col.protocol",
          "conn.col.address",
          "conn.col.enabled",
          "conn.col.state",
          "conn.col.reason",
          "conn.col.lastGood",
          "conn.col.errors",
          "conn.col.restarts",
        ].map((k) => h("th", {}, t(k))),
        h("th", {}, ""),
      ),
    ),
    tbody,
  );
  setMain(
    h(
      "div",
      { class: "toolbar" },
      h("h1", {}, t("conn.title")),
      h("a", { class: "button", href: "#/new", id: "add-connection" }, t("conn.add")),
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
          h("td", {}, c.enabled ? t("common.yes") : t("common.no")),
          h(
            "td",
            { class: "state" },
            c.enabled ? stateBadge(c.status) : h("span", { class: "badge" }, t("common.disabled")),
          ),
          h(
            "td",
            { class: "muted", title: st.cause ?? "" },
            c.status?.reason ?? "",
            st.cause ? h("div", { class: "cause" }, st.cause) : "",
          ),
          h(
            "td",
            { class: "last-good", title: lastGoodHelp(st.reported_at) },
            fmtLastGood(st.last_good_poll, data.ts),
          ),
          h(
            "td",
            {
              title: `${errs}${st.writes_refused ? `; ${t("conn.writesRefused", { n: st.writes_refused })}` : ""}`,
            },
            st.error_total ?? "",
          ),
          h(
            "td",
            { title: t("conn.restartsHelp") },
            st.restarts ?? "",
            st.restarts_requested
              ? ` ${t("conn.restartsRequested", { n: st.restarts_requested })}`
              : "",
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
              c.enabled ? t("common.disable") : t("common.enable"),
            ),
            h(
              "button",
              {
                type: "button",
                class: "danger",
                onclick: () => removeConnection(c.conn_id).then(refresh),
              },
              t("common.remove"),
            ),
          ),
        );
      }),
    );
    if (data.connections.length === 0) {
      tbody.append(h("tr", {}, h("td", { colspan: 10, class: "muted" }, t("overview.none"))));
    }
  }
  await refresh();
  const timer = setInterval(refresh, 2000);
  onCleanup(() => clearInterval(timer));
}

export async function toggleEnabled(id, enabled) {
  try {
    await api(
      "POST",
      `/api/connections/${encodeURIComponent(id)}/${enabled ? "enable" : "disable"}`,
    );
    toast(t(enabled ? "conn.enabledToast" : "conn.disabledToast", { id }));
  } catch (e) {
    toast(e.message, "bad");
  }
}

export async function removeConnection(id) {
  if (!(await confirmDialog(t("conn.removeConfirm", { id })))) return;
  try {
    await api("DELETE", `/api/connections/${encodeURIComponent(id)}`);
    toast(t("common.removedToast", { id }));
    if (location.hash.startsWith("#/conn/")) location.hash = "#/connections";
  } catch (e) {
    toast(e.message, "bad");
  }
}
