// Live values tab of one connection (#/conn/ID/live): SSE table and trend.
import { stateBadge, toast } from "../components/feedback.js";
import { writeDialog } from "../components/write-dialog.js";
import { api } from "../core/api.js";
import { h, onCleanup, svg } from "../core/dom.js";
import { fmtAge, fmtTime, fmtValue } from "../core/format.js";

// ---- live values and trend

export async function tabLive(id, cfg, body, badge) {
  const rows = new Map();
  const tbody = h("tbody");
  const filter = h("input", { id: "tag-filter", placeholder: "Filter tags…", type: "search" });
  const trendBox = h("div", { id: "trend", class: "card", hidden: true });
  const trend = { tag: null, points: [] };
  const tagsByName = new Map(cfg.tags.map((t) => [t.tag_name, t]));
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
              showTrend(t.tag_name);
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
    if (trend.tag) wanted.add(trend.tag);
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
    if (trend.tag === v.tag) {
      trend.points.push({ ts: v.ts, value: v.value, quality: v.quality });
      drawTrend();
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
    if (trend.tag) drawTrend();
  }, 1000);
  onCleanup(() => {
    es?.close();
    clearInterval(ageTimer);
  });

  async function showTrend(tag) {
    trend.tag = tag;
    trend.points = [];
    trendBox.hidden = false;
    try {
      const r = await api(
        "GET",
        `/api/connections/${encodeURIComponent(id)}/trend?tag=${encodeURIComponent(tag)}&minutes=5`,
      );
      trend.points = r.points;
    } catch (e) {
      toast(e.message, "bad");
    }
    if (!filter.value || !tag.includes(filter.value)) connect();
    drawTrend();
  }

  function drawTrend() {
    const W = 720;
    const H = 200;
    const PAD = 40;
    const now = Date.now();
    trend.points = trend.points.filter((p) => p.ts >= now - 5 * 60_000);
    // The time axis spans what has been recorded: from 30 s up to the last 5 minutes.
    const firstTs = trend.points[0]?.ts ?? now;
    const windowMs = Math.min(
      5 * 60_000,
      Math.max(30_000, Math.ceil((now - firstTs) / 30_000) * 30_000),
    );
    const pts = trend.points.filter(
      (p) => typeof p.value === "number" || typeof p.value === "boolean",
    );
    const vals = pts.map((p) => Number(p.value));
    let lo = Math.min(...vals);
    let hi = Math.max(...vals);
    if (!Number.isFinite(lo)) {
      lo = 0;
      hi = 1;
    }
    if (lo === hi) {
      lo -= 1;
      hi += 1;
    }
    const x = (ts) => PAD + ((ts - (now - windowMs)) / windowMs) * (W - PAD - 10);
    const y = (v) => H - 20 - ((v - lo) / (hi - lo)) * (H - 40);
    const s = svg("svg", {
      viewBox: `0 0 ${W} ${H}`,
      class: "trend-chart",
      role: "img",
      "aria-label": `trend of ${trend.tag}`,
    });
    s.append(svg("rect", { x: PAD, y: 10, width: W - PAD - 10, height: H - 30, class: "plot" }));
    for (const [v, label] of [
      [hi, fmtValue(hi)],
      [lo, fmtValue(lo)],
    ]) {
      const t = svg("text", { x: PAD - 4, y: y(v) + 4, "text-anchor": "end", class: "axis" });
      t.textContent = label;
      s.append(t);
    }
    for (let m = 0; m <= 5; m++) {
      const ago = windowMs - (m * windowMs) / 5;
      const t = svg("text", { x: x(now - ago), y: H - 4, "text-anchor": "middle", class: "axis" });
      t.textContent =
        ago === 0
          ? "now"
          : ago >= 60_000
            ? `-${+(ago / 60_000).toFixed(1)} min`
            : `-${ago / 1000} s`;
      s.append(t);
    }
    if (pts.length > 0) {
      // A step line: a value holds until the next sample (deadband publishing).
      let d = "";
      pts.forEach((p, i) => {
        const px = x(p.ts).toFixed(1);
        const py = y(Number(p.value)).toFixed(1);
        d += i === 0 ? `M${px},${py}` : `H${px}V${py}`;
      });
      d += `H${x(now).toFixed(1)}`;
      s.append(svg("path", { d, class: "line" }));
      for (const p of pts.filter((q) => q.quality !== "good")) {
        s.append(svg("circle", { cx: x(p.ts), cy: y(Number(p.value)), r: 3, class: "bad-point" }));
      }
    }
    const t = tagsByName.get(trend.tag);
    trendBox.replaceChildren(
      h(
        "div",
        { class: "toolbar" },
        h("h2", {}, `Trend: ${trend.tag}`, t?.unit ? ` (${t.unit})` : ""),
        h(
          "span",
          { class: "muted", id: "trend-count" },
          `${pts.length} points, last ${windowMs >= 60_000 ? `${windowMs / 60_000} min` : `${windowMs / 1000} s`}`,
        ),
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            onclick: () => {
              trend.tag = null;
              trendBox.hidden = true;
              connect();
            },
          },
          "Close",
        ),
      ),
      s,
    );
  }
}
