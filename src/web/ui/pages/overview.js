// Overview page (#/): the gateway at a glance. Connections needing attention first (the server
// ranks them: not running or RECOVER, demoted devices, bad tags, starting), counts by state,
// the TagBus link, northbound apps, and the box (build, host, disk of the SoT, CPU and memory
// per app). Data: GET /api/overview, refreshed every 2 s.
import { errorBox, stateBadge } from "../components/feedback.js";
import { api } from "../core/api.js";
import { h, onCleanup, setMain } from "../core/dom.js";
import {
  fmtBytes,
  fmtDuration,
  fmtLastGood,
  fmtNumber,
  fmtValue,
  lastGoodHelp,
} from "../core/format.js";
import { t } from "../core/i18n.js";

const connHref = (id, tab = "live") => `#/conn/${encodeURIComponent(id)}/${tab}`;

function table(id, cols, rows, empty) {
  return h(
    "div",
    { class: "scroll", tabindex: 0 },
    h(
      "table",
      { id },
      h("thead", {}, h("tr", {}, ...cols.map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        {},
        rows.length ? rows : h("tr", {}, h("td", { colspan: cols.length, class: "muted" }, empty)),
      ),
    ),
  );
}

function kv(id, pairs) {
  return h(
    "table",
    { class: "kv human", id },
    h(
      "tbody",
      {},
      ...pairs.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, v))),
    ),
  );
}

function stateCounts(o) {
  const order = [
    "RECOVER",
    "silent",
    "FAILED",
    "STOP",
    "stopped",
    "CONNECT",
    "CONFIGURE",
    "INIT",
    "unknown",
    "EXECUTE",
    "disabled",
  ];
  const keys = Object.keys(o.by_state).sort(
    (a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99),
  );
  return h(
    "div",
    { class: "counts", id: "state-counts" },
    ...keys.map((k) =>
      h(
        "span",
        { class: `count badge state-${k}`, "data-state": k },
        `${k} `,
        h("strong", {}, String(o.by_state[k])),
      ),
    ),
    o.attention
      ? h(
          "span",
          { class: "bad", id: "attention-count" },
          t("overview.needAttention", { n: o.attention }),
        )
      : h("span", { class: "ok", id: "attention-count" }, t("overview.allFine")),
  );
}

function connRows(o) {
  return o.connections.map((c) => {
    const st = c.status;
    return h(
      "tr",
      { "data-conn": c.conn_id, class: c.rank < 4 ? `attn rank-${c.rank}` : "" },
      h("td", {}, h("a", { href: connHref(c.conn_id) }, c.conn_id)),
      h(
        "td",
        { class: "state" },
        c.enabled ? stateBadge(st) : h("span", { class: "badge" }, t("common.disabled")),
      ),
      h(
        "td",
        { class: "attention" },
        c.attention.length
          ? h("ul", { class: "plain" }, ...c.attention.map((a) => h("li", {}, a)))
          : "",
        st.cause ? h("div", { class: "cause muted" }, st.cause) : "",
      ),
      h("td", { class: "num rate" }, c.rate_per_s === null ? "—" : fmtValue(c.rate_per_s)),
      h(
        "td",
        { class: "num" },
        c.bad_tags || c.uncertain_tags
          ? h(
              "a",
              { href: connHref(c.conn_id), class: c.bad_tags ? "bad" : "" },
              `${c.bad_tags}${c.uncertain_tags ? ` ${t("overview.uncertain", { n: c.uncertain_tags })}` : ""}`,
            )
          : "0",
        ` / ${c.tag_count}`,
      ),
      h("td", { class: "num" }, st.devices ? `${c.demoted_devices} / ${st.devices.length}` : "—"),
      h(
        "td",
        { class: "last-good", title: lastGoodHelp(st.reported_at) },
        c.enabled ? fmtLastGood(st.last_good_poll, o.ts) : "",
      ),
      h(
        "td",
        { class: "num" },
        st.error_total
          ? h("a", { href: connHref(c.conn_id, "diag") }, String(st.error_total))
          : "0",
      ),
      h("td", { class: "num" }, String(st.restarts ?? 0)),
    );
  });
}

function northRows(o) {
  return o.northbounds.map((n) =>
    h(
      "tr",
      { "data-north": n.north_id },
      h("td", {}, h("a", { href: `#/north/${encodeURIComponent(n.north_id)}` }, n.north_id)),
      h("td", {}, n.kind),
      h("td", {}, n.enabled ? stateBadge(n) : h("span", { class: "badge" }, t("common.disabled"))),
      h(
        "td",
        {},
        n.broker_connected === null ? "—" : n.broker_connected ? "connected" : "disconnected",
      ),
      h("td", { class: "num" }, fmtValue(n.msgs_per_s)),
      h("td", { class: "num" }, fmtValue(n.buffered)),
      h("td", { class: "num" }, fmtValue(n.dropped)),
      h("td", { class: "muted" }, n.last_error?.message ?? ""),
    ),
  );
}

function busCard(o) {
  const b = o.bus;
  return h(
    "section",
    { class: "card", id: "bus-card", "aria-labelledby": "bus-h" },
    h("h2", { id: "bus-h" }, t("overview.bus")),
    h(
      "p",
      { id: "bus-state" },
      b.connected
        ? h("span", { class: "badge state-EXECUTE" }, t("overview.connected"))
        : h("span", { class: "badge state-RECOVER" }, t("overview.disconnected")),
    ),
    kv("bus-kv", [
      [t("overview.published"), fmtValue(b.published)],
      [t("diag.outbox"), fmtValue(b.outboxLength)],
      [t("diag.outboxDropped"), fmtValue(b.outboxDropped)],
      [
        t("overview.supervisor"),
        o.supervisor
          ? t("overview.running", { pid: o.supervisor.pid, manager: o.supervisor.manager })
          : t("overview.notSeen"),
      ],
    ]),
  );
}

function boxCard(o) {
  const x = o.box;
  const d = x.disk;
  return h(
    "section",
    { class: "card", id: "box-card", "aria-labelledby": "box-h" },
    h("h2", { id: "box-h" }, t("overview.box")),
    kv("box-kv", [
      [t("overview.version"), `${x.version} (commit ${x.commit}, ${x.target})`],
      [t("overview.host"), x.hostname],
      [t("overview.uptime"), fmtDuration(x.uptime_s)],
      [
        t("overview.load"),
        t("overview.loadValue", {
          load: x.load.map((l) => fmtNumber(l, 2)).join(", "),
          cpus: x.cpus,
        }),
      ],
      [
        t("overview.memory"),
        t("overview.of", { a: fmtBytes(x.mem_available_bytes), b: fmtBytes(x.mem_total_bytes) }),
      ],
      [
        t("overview.disk"),
        t("overview.diskValue", {
          free: fmtBytes(d.free_bytes),
          total: fmtBytes(d.total_bytes),
          db: fmtBytes(d.db_bytes),
          path: d.path,
        }),
      ],
    ]),
    h("h3", {}, t("overview.apps")),
    table(
      "apps-table",
      [
        "overview.col.app",
        "overview.col.for",
        "overview.col.pid",
        "overview.col.cpu",
        "overview.col.rss",
      ].map((k) => t(k)),
      x.apps.map((a) =>
        h(
          "tr",
          { "data-app": `${a.app}${a.id ? `@${a.id}` : ""}` },
          h("td", {}, a.app),
          h("td", {}, a.id),
          h("td", { class: "num" }, String(a.pid)),
          h("td", { class: "num" }, a.cpu_pct === null ? "—" : fmtNumber(a.cpu_pct, 1)),
          h("td", { class: "num" }, fmtBytes(a.rss_bytes)),
        ),
      ),
      t("overview.noApps"),
    ),
  );
}

export async function pageOverview() {
  const body = h("div", { id: "overview" });
  const err = h("div");
  setMain(
    h(
      "div",
      { class: "toolbar" },
      h("h1", {}, t("overview.title")),
      h("a", { class: "button secondary", href: "#/connections" }, t("overview.all")),
    ),
    err,
    body,
  );
  async function refresh() {
    let o;
    try {
      o = await api("GET", "/api/overview");
      err.replaceChildren();
    } catch (e) {
      if (e.status !== 401) err.replaceChildren(errorBox(e));
      return;
    }
    body.replaceChildren(
      h(
        "section",
        { class: "card", id: "conn-card", "aria-labelledby": "conn-h" },
        h("h2", { id: "conn-h" }, t("overview.connections")),
        stateCounts(o),
        table(
          "overview-table",
          [
            "connection",
            "state",
            "attention",
            "rate",
            "bad",
            "demoted",
            "lastGood",
            "errors",
            "restarts",
          ].map((k) => t(`overview.col.${k}`)),
          connRows(o),
          t("overview.none"),
        ),
      ),
      h("div", { class: "cols" }, busCard(o), boxCard(o)),
      o.northbounds.length
        ? h(
            "section",
            { class: "card", id: "north-card", "aria-labelledby": "north-h" },
            h("h2", { id: "north-h" }, t("overview.north")),
            table(
              "overview-north",
              [
                "north.col.north",
                "north.col.kind",
                "conn.col.state",
                "north.col.broker",
                "north.col.rate",
                "north.col.buffered",
                "north.col.dropped",
                "north.col.lastError",
              ].map((k) => t(k)),
              northRows(o),
              "",
            ),
          )
        : "",
    );
  }
  await refresh();
  const timer = setInterval(refresh, 2000);
  onCleanup(() => clearInterval(timer));
}
