// Diagnostics tab of one connection (#/conn/ID/diag): designed panels with human labels and
// units (state and its history, per-block timing and request plan, devices, link and bus
// counters, recent log lines with a level filter, configuration changes); the raw health
// JSON behind a toggle for support. Data: GET /api/connections/ID/diagnostics every 3 s.
import { errorBox, stateBadge } from "../components/feedback.js";
import { api } from "../core/api.js";
import { h, onCleanup } from "../core/dom.js";
import {
  fmtAge,
  fmtAgo,
  fmtDateTime,
  fmtLastGood,
  fmtValue,
  lastGoodHelp,
} from "../core/format.js";
import { t } from "../core/i18n.js";

const ms = (v) => (v === null || v === undefined ? "—" : `${fmtValue(Math.round(v * 10) / 10)} ms`);

function kv(id, pairs) {
  return h(
    "table",
    { class: "kv human", id },
    h(
      "tbody",
      {},
      ...pairs
        .filter(([, v]) => v !== undefined)
        .map(([k, v, key]) =>
          h("tr", { "data-key": key ?? null }, h("th", { scope: "row" }, k), h("td", {}, v)),
        ),
    ),
  );
}

function table(id, cols, rows, empty, attrs = {}) {
  return h(
    "div",
    { class: "scroll", tabindex: 0 },
    h(
      "table",
      { id, ...attrs },
      h("thead", {}, h("tr", {}, ...cols.map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        {},
        rows.length ? rows : h("tr", {}, h("td", { colspan: cols.length, class: "muted" }, empty)),
      ),
    ),
  );
}

function panel(id, title, ...children) {
  return h(
    "section",
    { class: "card", id, "aria-labelledby": `${id}-h` },
    h("h2", { id: `${id}-h` }, title),
    ...children,
  );
}

/** `holding_registers 0–9 (10 registers)`; a count of 0 reads nothing (never `0–-1`). */
export function requestPlan(b) {
  if (!b.table) return "—";
  const unit = t(/coils|discrete/.test(b.table) ? "diag.bits" : "diag.registers");
  if (!b.count) return t("diag.nothing", { table: b.table });
  const last = b.address + b.count - 1;
  return `${b.table} ${b.address}${b.count > 1 ? `–${last}` : ""} (${b.count} ${unit})`;
}

function statePanel(d) {
  const st = d.status;
  return panel(
    "diag-state-panel",
    t("diag.state"),
    h(
      "p",
      { id: "diag-state" },
      stateBadge(st),
      st.reason ? ` ${st.reason}` : "",
      st.since ? h("span", { class: "muted" }, ` since ${fmtDateTime(st.since)}`) : "",
    ),
    kv("diag-service", [
      [t("diag.service"), st.service ?? "—"],
      [t("diag.pid"), st.pid ?? "—"],
      [t("diag.runningFor"), st.uptime_ms === null ? "—" : fmtAge(st.uptime_ms)],
      [t("diag.restarts"), fmtValue(st.restarts)],
      [t("diag.restartsRequested"), fmtValue(st.restarts_requested)],
      [t("conn.col.lastGood"), fmtLastGood(st.last_good_poll, d.ts)],
      [
        t("diag.reportedAt"),
        st.reported_at
          ? `${fmtDateTime(st.reported_at)} (${fmtAgo(st.reported_at, d.ts)})`
          : t("common.never"),
      ],
      [t("diag.errorTotal"), fmtValue(st.error_total)],
      [t("diag.writesRefused"), fmtValue(st.writes_refused)],
      [t("diag.cause"), st.cause ?? "—"],
      [
        t("north.col.lastError"),
        st.last_error
          ? `${fmtDateTime(st.last_error.at)} ${st.last_error.where}: ${st.last_error.message}`
          : t("common.none"),
      ],
    ]),
  );
}

function historyPanel(d) {
  const events = (d.status.health?.recentLogs ?? []).filter((l) => /^state /.test(l.msg));
  return panel(
    "diag-history",
    t("diag.history"),
    table(
      "state-history",
      [t("audit.col.when"), t("diag.change")],
      events
        .slice()
        .reverse()
        .map((e) => h("tr", {}, h("td", {}, fmtDateTime(e.ts)), h("td", {}, e.msg))),
      t("diag.noHistory"),
    ),
  );
}

function blocksPanel(d) {
  const hb = d.status.health?.blocks ?? {};
  const rows = d.blocks.map((b) => {
    const x = hb[b.block_id];
    const tm = x?.timer;
    return h(
      "tr",
      { "data-block": b.block_id },
      h("th", { scope: "row" }, b.block_id),
      h(
        "td",
        {},
        requestPlan(b),
        b.device ? ` · ${t("diag.deviceOf", { device: b.device })}` : "",
        ` · ${t("diag.tagCount", { n: b.tags })}`,
      ),
      h("td", { class: "num" }, b.period_ms ? ms(b.period_ms) : t("profiles.onDemand")),
      h("td", { class: "num" }, tm ? fmtValue(tm.ticks) : "—"),
      h("td", { class: "num" }, tm ? `${ms(tm.lateness.p50)} / ${ms(tm.lateness.p99)}` : "—"),
      h("td", { class: "num" }, tm ? `${ms(tm.execution.p50)} / ${ms(tm.execution.p99)}` : "—"),
      h("td", { class: "num" }, tm ? fmtValue(tm.overruns) : "—"),
      h("td", { class: "num" }, tm ? fmtValue(tm.skippedTicks) : "—"),
      h("td", { class: "num" }, x ? fmtValue(x.consecutiveErrors) : "—"),
      h(
        "td",
        { title: lastGoodHelp(d.status.reported_at) },
        x ? fmtLastGood(x.lastGood, d.ts) : "—",
      ),
      h("td", { class: x?.lastErrorReason ? "bad" : "" }, x?.lastErrorReason ?? ""),
    );
  });
  return panel(
    "diag-blocks",
    t("diag.blocks"),
    table(
      "diag-blocks-table",
      [
        t("entity.block"),
        t("diag.requestPlan"),
        t("diag.period"),
        t("diag.polls"),
        t("diag.lateness"),
        t("diag.pollTime"),
        t("diag.overruns"),
        t("diag.skipped"),
        t("diag.failuresInRow"),
        t("diag.lastGood"),
        t("north.col.lastError"),
      ],
      rows,
      t("diag.noBlocks"),
      { "data-health": "blocks" },
    ),
  );
}

/**
 * The read requests of a Modbus connection as the app sends them (GET
 * /api/connections/ID/plan): explicit blocks split at the device maximum and the automatic
 * blocks of auto tags, with the spans the running app learned the device refuses.
 */
function planPanel(plan) {
  if (!plan) return "";
  const span = (a, b) => (a === b ? String(a) : `${a}–${b}`);
  return panel(
    "diag-plan",
    t("diag.readRequests"),
    plan.address_base === 1 ? h("p", { class: "muted" }, t("diag.oneBased")) : "",
    table(
      "diag-plan-table",
      [
        t("entity.block"),
        t("diag.deviceUnit"),
        t("diag.tableFc"),
        t("diag.addresses"),
        t("diag.count"),
        t("diag.period"),
        t("tab.tags"),
      ],
      plan.requests.map((r) =>
        h(
          "tr",
          { "data-block": r.block_id, class: r.refused ? "bad" : "" },
          h(
            "th",
            { scope: "row" },
            r.block_id,
            r.auto ? t("diag.autoSuffix") : "",
            r.refused ? t("diag.refusedSuffix") : "",
          ),
          h("td", {}, `${r.device || t("diag.default")} (${r.unit_id})`),
          h("td", {}, `${r.table} (FC${r.fc})`),
          h("td", { class: "num" }, span(r.first, r.last)),
          h("td", { class: "num" }, fmtValue(r.count)),
          h("td", { class: "num" }, r.period_ms === null ? t("diag.writeOnly") : ms(r.period_ms)),
          h("td", {}, r.tags.join(" ")),
        ),
      ),
      t("diag.noRequests"),
    ),
    plan.refused.length
      ? h(
          "p",
          { id: "diag-refused" },
          t("diag.refusedSpans"),
          plan.refused
            .map((s) => `${s.device || t("diag.default")} ${s.table} ${span(s.start, s.end - 1)}`)
            .join("; "),
        )
      : "",
  );
}

function devicesPanel(d) {
  const devs = d.status.devices;
  if (!devs?.length) return "";
  return panel(
    "diag-devices",
    t("diag.devices"),
    table(
      "diag-devices-table",
      [
        t("entity.device"),
        t("diag.unitId"),
        t("diag.state"),
        t("conn.col.lastGood"),
        t("conn.col.errors"),
        t("north.col.lastError"),
        t("diag.demotions"),
        t("diag.demotedUntil"),
      ],
      devs.map((x) =>
        h(
          "tr",
          { "data-device": x.device },
          h("th", { scope: "row" }, x.device || t("diag.defaultDevice")),
          h("td", { class: "num" }, fmtValue(x.unit_id)),
          h("td", { class: x.state === "demoted" ? "bad" : "ok" }, x.state),
          h(
            "td",
            { title: lastGoodHelp(d.status.reported_at) },
            fmtLastGood(x.last_good_poll, d.ts),
          ),
          h("td", { class: "num" }, fmtValue(x.errors)),
          h("td", {}, x.last_error_reason ?? ""),
          h("td", { class: "num" }, fmtValue(x.demotions)),
          h("td", {}, x.demoted_until ? fmtDateTime(x.demoted_until) : ""),
        ),
      ),
      "",
    ),
  );
}

function countersPanel(d) {
  const c = d.status.health?.counters;
  const b = d.status.health?.bus;
  if (!c)
    return panel("diag-counters", t("diag.counters"), h("p", { class: "muted" }, t("health.none")));
  return h(
    "div",
    { class: "cols" },
    panel(
      "diag-link",
      t("diag.link"),
      kv("diag-link-kv", [
        [t("diag.reads"), fmtValue(c.reads), "reads"],
        [t("diag.readErrors"), fmtValue(c.readErrors), "readErrors"],
        [t("diag.writes"), fmtValue(c.writes), "writes"],
        [t("diag.writeErrors"), fmtValue(c.writeErrors), "writeErrors"],
        [t("diag.writesRefused"), fmtValue(c.writesRefused), "writesRefused"],
        [t("diag.reconnects"), fmtValue(c.reconnects), "reconnects"],
        [t("diag.connectFailures"), fmtValue(c.connectFailures), "connectFailures"],
        [t("diag.reloads"), fmtValue(c.reloads), "reloads"],
        [t("diag.reloadsRefused"), fmtValue(c.reloadsRefused), "reloadsRefused"],
      ]),
    ),
    panel(
      "diag-bus",
      t("diag.bus"),
      kv("diag-bus-kv", [
        [t("diag.connected"), b?.connected ? t("common.yes") : t("common.no"), "connected"],
        [t("diag.samplesPublished"), fmtValue(c.samplesPublished), "samplesPublished"],
        [t("diag.outbox"), t("diag.samples", { n: fmtValue(b?.outboxLength) }), "outboxLength"],
        [
          t("diag.outboxDropped"),
          t("diag.samples", { n: fmtValue(b?.outboxDropped) }),
          "outboxDropped",
        ],
        [t("diag.stalledFor"), ms(b?.stalledMs ?? 0), "stalledMs"],
        [t("diag.stalls"), fmtValue(c.busStalls), "busStalls"],
      ]),
    ),
  );
}

function logsPanel(d, level) {
  const order = { debug: 0, info: 1, warn: 2, error: 3, fatal: 4 };
  const min = order[level.value] ?? 0;
  const lines = d.logs.lines.filter((l) => (order[l.level] ?? 1) >= min);
  return panel(
    "diag-log",
    t("diag.logs", { source: d.logs.source }),
    h("div", { class: "toolbar" }, h("label", {}, `${t("diag.level")} `, level)),
    lines.length
      ? h(
          "table",
          { id: "diag-logs", class: "logs" },
          h(
            "tbody",
            {},
            ...lines.map((l) =>
              h(
                "tr",
                { class: `lvl-${l.level ?? ""}` },
                h("td", {}, fmtDateTime(l.ts)),
                h("td", {}, l.level ?? ""),
                h("td", {}, l.msg),
              ),
            ),
          ),
        )
      : h("p", { class: "muted" }, t("diag.noLogs")),
  );
}

function journalPanel(d) {
  return panel(
    "diag-journal",
    t("diag.journal"),
    table(
      "diag-journal-table",
      [t("audit.col.when"), t("diag.by"), t("diag.change")],
      d.journal.map((j) =>
        h("tr", {}, h("td", {}, fmtDateTime(j.ts)), h("td", {}, j.origin), h("td", {}, j.change)),
      ),
      t("diag.noneRecorded"),
    ),
  );
}

export async function tabDiag(id, cfg, body) {
  const box = h("div");
  const auto = h("input", { type: "checkbox", checked: true, id: "diag-auto" });
  const level = h(
    "select",
    { id: "diag-level" },
    ...["all", "info", "warn", "error"].map((l) =>
      h(
        "option",
        { value: l === "all" ? "debug" : l },
        l === "all" ? t("diag.allLevels") : t("diag.levelAndAbove", { level: l }),
      ),
    ),
  );
  const raw = h("details", { id: "diag-raw" }, h("summary", {}, t("diag.raw")), h("pre", {}));
  let last = null;
  let plan = null;
  const modbus = cfg?.connection?.protocol !== "opcua";
  const render = () => {
    if (!last) return;
    const d = last;
    raw.querySelector("pre").textContent = JSON.stringify(d.status, null, 2);
    box.replaceChildren(
      h("div", { class: "cols" }, statePanel(d), historyPanel(d)),
      blocksPanel(d),
      planPanel(plan),
      devicesPanel(d),
      countersPanel(d),
      logsPanel(d, level),
      journalPanel(d),
      raw,
    );
  };
  level.addEventListener("change", render);
  body.append(
    h("div", { class: "toolbar" }, h("label", {}, auto, ` ${t("diag.autoRefresh")}`)),
    box,
  );
  const refresh = async () => {
    try {
      last = await api("GET", `/api/connections/${encodeURIComponent(id)}/diagnostics?lines=50`);
      if (modbus) plan = await api("GET", `/api/connections/${encodeURIComponent(id)}/plan`);
    } catch (e) {
      box.replaceChildren(errorBox(e));
      return;
    }
    render();
  };
  await refresh();
  const timer = setInterval(() => auto.checked && refresh(), 3000);
  onCleanup(() => clearInterval(timer));
}
