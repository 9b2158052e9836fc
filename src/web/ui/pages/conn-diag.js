// Diagnostics tab of one connection (#/conn/ID/diag).
import { errorBox, stateBadge } from "../components/feedback.js";
import { renderHealth } from "../components/health.js";
import { api } from "../core/api.js";
import { h, onCleanup } from "../core/dom.js";
import { fmtAge, fmtDateTime } from "../core/format.js";

export async function tabDiag(id, _cfg, body) {
  const box = h("div");
  const auto = h("input", { type: "checkbox", checked: true, id: "diag-auto" });
  body.append(h("div", { class: "toolbar" }, h("label", {}, auto, " refresh every 3 s")), box);
  const refresh = async () => {
    let d;
    try {
      d = await api("GET", `/api/connections/${encodeURIComponent(id)}/diagnostics?lines=50`);
    } catch (e) {
      box.replaceChildren(errorBox(e));
      return;
    }
    box.replaceChildren(
      h("h2", {}, "State"),
      h(
        "p",
        { id: "diag-state" },
        stateBadge(d.status),
        d.status.reason ? ` ${d.status.reason}` : "",
        d.status.since
          ? h("span", { class: "muted" }, ` since ${fmtDateTime(d.status.since)}`)
          : "",
      ),
      renderHealth({
        service: d.status.service,
        pid: d.status.pid,
        uptime: fmtAge(d.status.uptime_ms),
        restarts: d.status.restarts,
        restarts_requested: d.status.restarts_requested,
        last_good_poll_at: d.status.last_good_poll,
        errors: d.status.error_total,
        writes_refused: d.status.writes_refused,
        cause: d.status.cause ?? "",
        last_error: d.status.last_error
          ? `${fmtDateTime(d.status.last_error.at)} ${d.status.last_error.where}: ${d.status.last_error.message}`
          : "none",
      }),
      h("h2", {}, "Health (timers per block, counters)"),
      renderHealth(d.status.health),
      h("h2", {}, `Recent log lines (source: ${d.logs.source})`),
      d.logs.lines.length
        ? h(
            "table",
            { id: "diag-logs", class: "logs" },
            h(
              "tbody",
              {},
              ...d.logs.lines.map((l) =>
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
        : h("p", { class: "muted" }, "No log lines available."),
      h("h2", {}, "Configuration changes"),
      h(
        "table",
        { class: "logs" },
        h(
          "tbody",
          {},
          ...d.journal.map((j) =>
            h(
              "tr",
              {},
              h("td", {}, fmtDateTime(j.ts)),
              h("td", {}, j.origin),
              h("td", {}, j.change),
            ),
          ),
        ),
      ),
    );
  };
  await refresh();
  const t = setInterval(() => auto.checked && refresh(), 3000);
  onCleanup(() => clearInterval(t));
}
