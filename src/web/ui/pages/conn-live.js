// Live values tab of one connection (#/conn/ID/live): SSE table and trend.
import { stateBadge, toast } from "../components/feedback.js";
import { trendChart } from "../components/trend-chart.js";
import { writeDialog } from "../components/write-dialog.js";
import { api } from "../core/api.js";
import { h, onCleanup } from "../core/dom.js";
import { fmtAge, fmtTime, fmtValue } from "../core/format.js";

export async function tabLive(id, cfg, body, badge) {
  const rows = new Map();
  const tbody = h("tbody");
  const filter = h("input", { id: "tag-filter", placeholder: "Filter tags…", type: "search" });
  const tagsByName = new Map(cfg.tags.map((t) => [t.tag_name, t]));
  /** Trended tags → their points `{ ts, value, quality }`, oldest first. */
  const trendSeries = new Map();
  const chart = trendChart({
    unitOf: (tag) => tagsByName.get(tag)?.unit || null,
    onClose: () => {
      trendSeries.clear();
      chart.set(trendSeries);
      connect();
    },
  });
  const trendBox = chart.el;
  for (const t of cfg.tags) {
    const cells = {
      value: h("td", { class: "value num" }, "—"),
      quality: h("td", { class: "quality" }, ""),
      ts: h("td", { class: "ts" }, ""),
      age: h("td", { class: "age num" }, ""),
    };
    const tr = h(
      "tr",
      { "data-tag": t.tag_name },
      h(
        "td",
        {},
        h(
          "a",
          {
            href: "#",
            class: "trend-link",
            onclick: (ev) => {
              ev.preventDefault();
              toggleTrend(t.tag_name);
            },
          },
          t.tag_name,
        ),
      ),
      cells.value,
      h("td", {}, t.unit),
      cells.quality,
      cells.ts,
      cells.age,
      h(
        "td",
        {},
        t.access === "read-write"
          ? h(
              "button",
              { type: "button", class: "write-btn", onclick: () => writeDialog(id, t) },
              "Write…",
            )
          : null,
      ),
    );
    rows.set(t.tag_name, { tr, cells, ts: 0 });
    tbody.append(tr);
  }
  const table = h(
    "table",
    { id: "values-table" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ...["Tag", "Value", "Unit", "Quality", "Source time", "Age", ""].map((x) => h("th", {}, x)),
      ),
    ),
    tbody,
  );
  const gap = h("p", { class: "muted", id: "stream-state" }, "connecting…");
  // Shown while the server's link to the tag bus (Redis) is down, or the stream itself is:
  // the values in the table are then the last received, not live (greyed: table.stale).
  const busBanner = h(
    "div",
    { id: "bus-banner", class: "error", role: "alert", hidden: true },
    "Data source disconnected: the tag bus (Redis) is unreachable. The values below are the last received and may be stale.",
  );
  const setStale = (stale, why) => {
    table.classList.toggle("stale", stale);
    badge.classList.toggle("stale-badge", stale); // the app's state is not live either
    busBanner.hidden = !stale;
    if (why) busBanner.textContent = why;
  };
  body.append(busBanner, h("div", { class: "toolbar" }, filter, gap), table, trendBox);
  if (cfg.tags.length === 0)
    tbody.append(h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No tags.")));

  let es = null;
  const connect = () => {
    es?.close();
    const f = filter.value.trim().toLowerCase();
    const visible = cfg.tags
      .map((t) => t.tag_name)
      .filter((n) => !f || n.toLowerCase().includes(f));
    for (const [name, r] of rows) r.tr.hidden = !visible.includes(name);
    // Only the tags this page shows are streamed (filtered on the server).
    const wanted = new Set(visible);
    for (const t of trendSeries.keys()) wanted.add(t);
    const q =
      wanted.size === cfg.tags.length
        ? ""
        : `?tags=${encodeURIComponent([...wanted].join(",") || "-")}`;
    es = new EventSource(`/api/connections/${encodeURIComponent(id)}/stream${q}`);
    es.addEventListener("open", () => {
      // "live" only once the server says its bus link is up (the first event: bus)
      gap.textContent = "connected";
    });
    es.addEventListener("error", () => {
      gap.textContent = "reconnecting…";
      setStale(
        true,
        "Connection to the gateway lost; reconnecting. The values below are the last received and may be stale.",
      );
    });
    es.addEventListener("bus", (ev) => {
      const up = JSON.parse(ev.data).connected === true;
      gap.textContent = up ? "live" : "data source disconnected";
      setStale(
        !up,
        "Data source disconnected: the tag bus (Redis) is unreachable. The values below are the last received and may be stale.",
      );
    });
    es.addEventListener("gap", (ev) => {
      gap.textContent = `gap in delivery (${JSON.parse(ev.data).reason}); values resynchronised`;
    });
    es.addEventListener("values", (ev) => {
      for (const v of JSON.parse(ev.data)) onValue(v);
    });
  };
  function onValue(v) {
    if (v.path === `/system/${id}/state`) {
      badge.replaceChildren(
        stateBadge({
          state: typeof v.value === "string" ? v.value : String(v.value),
          reason: v.reason,
        }),
      );
      return;
    }
    const r = rows.get(v.tag);
    if (!r) return;
    r.ts = v.ts;
    r.cells.value.textContent = fmtValue(v.value);
    r.cells.quality.replaceChildren(h("span", { class: `q q-${v.quality}` }, v.quality));
    if (v.reason) r.cells.quality.append(h("span", { class: "muted" }, ` ${v.reason}`));
    r.cells.ts.textContent = fmtTime(v.ts);
    r.cells.age.textContent = fmtAge(Date.now() - v.ts);
    r.tr.classList.remove("flash");
    void r.tr.offsetWidth;
    r.tr.classList.add("flash");
    const pts = trendSeries.get(v.tag);
    if (pts && (pts.length === 0 || pts[pts.length - 1].ts < v.ts)) {
      pts.push({ ts: v.ts, value: v.value, quality: v.quality });
      const cutoff = Date.now() - chart.maxWindowMs;
      while (pts.length > 0 && pts[0].ts < cutoff) pts.shift();
    }
  }
  let debounce;
  filter.addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(connect, 300);
  });
  connect();
  const ageTimer = setInterval(() => {
    const now = Date.now();
    for (const r of rows.values()) if (r.ts) r.cells.age.textContent = fmtAge(now - r.ts);
    if (trendSeries.size) chart.redraw(); // once a second, not per value
  }, 1000);
  onCleanup(() => {
    es?.close();
    clearInterval(ageTimer);
    chart.destroy();
  });

  /** Adds `tag` to the trend (with its recent past from the server), or removes it. */
  async function toggleTrend(tag) {
    if (trendSeries.has(tag)) {
      trendSeries.delete(tag);
      chart.set(trendSeries);
      if (trendSeries.size === 0) connect();
      return;
    }
    trendSeries.set(tag, []);
    chart.set(trendSeries);
    try {
      const r = await api(
        "GET",
        `/api/connections/${encodeURIComponent(id)}/trend?tag=${encodeURIComponent(tag)}&minutes=15`,
      );
      const live = trendSeries.get(tag) ?? [];
      const last = r.points.at(-1)?.ts ?? 0;
      trendSeries.set(tag, [...r.points, ...live.filter((p) => p.ts > last)]);
    } catch (e) {
      toast(e.message, "bad");
    }
    const f = filter.value.trim().toLowerCase();
    if (f && !tag.toLowerCase().includes(f)) connect();
    chart.set(trendSeries);
  }
}
