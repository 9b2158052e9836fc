// Diagnostics tab of one connection (#/conn/ID/diag): designed panels with human labels and
// units (state and its history, per-block timing and request plan, devices, link and bus
// counters, recent log lines with a level filter, configuration changes); the raw health
// JSON behind a toggle for support. Data: GET /api/connections/ID/diagnostics every 3 s.
import { errorBox, stateBadge } from "../components/feedback.js";
import { api } from "../core/api.js";
import { h, onCleanup } from "../core/dom.js";
import { fmtAge, fmtAgo, fmtDateTime, fmtValue } from "../core/format.js";

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
  const unit = /coils|discrete/.test(b.table) ? "bits" : "registers";
  if (!b.count) return `${b.table}: nothing (count 0)`;
  const last = b.address + b.count - 1;
  return `${b.table} ${b.address}${b.count > 1 ? `–${last}` : ""} (${b.count} ${unit})`;
}

function statePanel(d) {
  const st = d.status;
  return panel(
    "diag-state-panel",
    "State",
    h(
      "p",
      { id: "diag-state" },
      stateBadge(st),
      st.reason ? ` ${st.reason}` : "",
      st.since ? h("span", { class: "muted" }, ` since ${fmtDateTime(st.since)}`) : "",
    ),
    kv("diag-service", [
      ["Service", st.service ?? "—"],
      ["Process id", st.pid ?? "—"],
      ["Running for", st.uptime_ms === null ? "—" : fmtAge(st.uptime_ms)],
      ["Restarts after a failure", fmtValue(st.restarts)],
      ["Restarts for settings changes", fmtValue(st.restarts_requested)],
      [
        "Last good poll",
        st.last_good_poll
          ? `${fmtDateTime(st.last_good_poll)} (${fmtAgo(st.last_good_poll)})`
          : "never",
      ],
      ["Device and link errors", fmtValue(st.error_total)],
      ["Writes refused (bad request)", fmtValue(st.writes_refused)],
      ["Cause", st.cause ?? "—"],
      [
        "Last error",
        st.last_error
          ? `${fmtDateTime(st.last_error.at)} ${st.last_error.where}: ${st.last_error.message}`
          : "none",
      ],
    ]),
  );
}

function historyPanel(d) {
  const events = (d.status.health?.recentLogs ?? []).filter((l) => /^state /.test(l.msg));
  return panel(
    "diag-history",
    "State history",
    table(
      "state-history",
      ["When", "Change"],
      events
        .slice()
        .reverse()
        .map((e) => h("tr", {}, h("td", {}, fmtDateTime(e.ts)), h("td", {}, e.msg))),
      "No state change recorded by the app since it started.",
    ),
  );
}

function blocksPanel(d) {
  const hb = d.status.health?.blocks ?? {};
  const rows = d.blocks.map((b) => {
    const x = hb[b.block_id];
    const t = x?.timer;
    return h(
      "tr",
      { "data-block": b.block_id },
      h("th", { scope: "row" }, b.block_id),
      h("td", {}, requestPlan(b), b.device ? ` · device ${b.device}` : "", ` · ${b.tags} tag(s)`),
      h("td", { class: "num" }, b.period_ms ? ms(b.period_ms) : "on demand"),
      h("td", { class: "num" }, t ? fmtValue(t.ticks) : "—"),
      h("td", { class: "num" }, t ? `${ms(t.lateness.p50)} / ${ms(t.lateness.p99)}` : "—"),
      h("td", { class: "num" }, t ? `${ms(t.execution.p50)} / ${ms(t.execution.p99)}` : "—"),
      h("td", { class: "num" }, t ? fmtValue(t.overruns) : "—"),
      h("td", { class: "num" }, t ? fmtValue(t.skippedTicks) : "—"),
      h("td", { class: "num" }, x ? fmtValue(x.consecutiveErrors) : "—"),
      h("td", {}, x ? fmtAgo(x.lastGood) : "—"),
      h("td", { class: x?.lastErrorReason ? "bad" : "" }, x?.lastErrorReason ?? ""),
    );
  });
  return panel(
    "diag-blocks",
    "Blocks: timing and request plan",
    table(
      "diag-blocks-table",
      [
        "Block",
        "Request plan",
        "Period",
        "Polls",
        "Lateness p50 / p99",
        "Poll time p50 / p99",
        "Overruns",
        "Skipped ticks",
        "Failures in a row",
        "Last good",
        "Last error",
      ],
      rows,
      "No blocks.",
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
    "Read requests",
    plan.address_base === 1
      ? h("p", { class: "muted" }, "Addresses one-based: the wire address is one less.")
      : "",
    table(
      "diag-plan-table",
      ["Block", "Device (unit)", "Table (function)", "Addresses", "Count", "Period", "Tags"],
      plan.requests.map((r) =>
        h(
          "tr",
          { "data-block": r.block_id, class: r.refused ? "bad" : "" },
          h(
            "th",
            { scope: "row" },
            r.block_id,
            r.auto ? " (auto)" : "",
            r.refused ? " refused" : "",
          ),
          h("td", {}, `${r.device || "default"} (${r.unit_id})`),
          h("td", {}, `${r.table} (FC${r.fc})`),
          h("td", { class: "num" }, span(r.first, r.last)),
          h("td", { class: "num" }, fmtValue(r.count)),
          h("td", { class: "num" }, r.period_ms === null ? "write-only" : ms(r.period_ms)),
          h("td", {}, r.tags.join(" ")),
        ),
      ),
      "No read requests.",
    ),
    plan.refused.length
      ? h(
          "p",
          { id: "diag-refused" },
          "Spans the device refused (exception 02): ",
          plan.refused
            .map((s) => `${s.device || "default"} ${s.table} ${span(s.start, s.end - 1)}`)
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
    "Devices on the link",
    table(
      "diag-devices-table",
      [
        "Device",
        "Unit id",
        "State",
        "Last good poll",
        "Errors",
        "Last error",
        "Demotions",
        "Demoted until",
      ],
      devs.map((x) =>
        h(
          "tr",
          { "data-device": x.device },
          h("th", { scope: "row" }, x.device || "(default)"),
          h("td", { class: "num" }, fmtValue(x.unit_id)),
          h("td", { class: x.state === "demoted" ? "bad" : "ok" }, x.state),
          h("td", {}, fmtAgo(x.last_good_poll)),
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
    return panel(
      "diag-counters",
      "Counters",
      h("p", { class: "muted" }, "The app has not published its health yet."),
    );
  return h(
    "div",
    { class: "cols" },
    panel(
      "diag-link",
      "Device link",
      kv("diag-link-kv", [
        ["Block reads", fmtValue(c.reads), "reads"],
        ["Failed reads", fmtValue(c.readErrors), "readErrors"],
        ["Writes", fmtValue(c.writes), "writes"],
        ["Failed writes", fmtValue(c.writeErrors), "writeErrors"],
        ["Writes refused (bad request)", fmtValue(c.writesRefused), "writesRefused"],
        ["Reconnects", fmtValue(c.reconnects), "reconnects"],
        ["Failed connects", fmtValue(c.connectFailures), "connectFailures"],
        ["Hot reloads", fmtValue(c.reloads), "reloads"],
        ["Reloads refused", fmtValue(c.reloadsRefused), "reloadsRefused"],
      ]),
    ),
    panel(
      "diag-bus",
      "Tag bus (Redis) client of the app",
      kv("diag-bus-kv", [
        ["Connected", b?.connected ? "yes" : "no", "connected"],
        ["Samples published", fmtValue(c.samplesPublished), "samplesPublished"],
        ["Waiting to be sent", `${fmtValue(b?.outboxLength)} samples`, "outboxLength"],
        ["Dropped (outbox full)", `${fmtValue(b?.outboxDropped)} samples`, "outboxDropped"],
        ["Publishing stalled for", ms(b?.stalledMs ?? 0), "stalledMs"],
        ["Stalls warned about", fmtValue(c.busStalls), "busStalls"],
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
    `Recent log lines (source: ${d.logs.source})`,
    h("div", { class: "toolbar" }, h("label", {}, "Level ", level)),
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
      : h("p", { class: "muted" }, "No log lines at this level."),
  );
}

function journalPanel(d) {
  return panel(
    "diag-journal",
    "Configuration changes",
    table(
      "diag-journal-table",
      ["When", "By", "Change"],
      d.journal.map((j) =>
        h("tr", {}, h("td", {}, fmtDateTime(j.ts)), h("td", {}, j.origin), h("td", {}, j.change)),
      ),
      "None recorded.",
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
        l === "all" ? "all levels" : `${l} and above`,
      ),
    ),
  );
  const raw = h(
    "details",
    { id: "diag-raw" },
    h("summary", {}, "Raw health (JSON, for support)"),
    h("pre", {}),
  );
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
  body.append(h("div", { class: "toolbar" }, h("label", {}, auto, " refresh every 3 s")), box);
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
  const t = setInterval(() => auto.checked && refresh(), 3000);
  onCleanup(() => clearInterval(t));
}
