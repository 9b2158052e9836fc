// Live values tab of one connection (#/conn/ID/live): SSE table and trend.
import { stateBadge, toast } from "../components/feedback.js";
import { trendChart } from "../components/trend-chart.js";
import { writeDialog } from "../components/write-dialog.js";
import { api } from "../core/api.js";
import { h, onCleanup } from "../core/dom.js";
import { fmtAge, fmtNumber, fmtTime, fmtValue } from "../core/format.js";
import { t } from "../core/i18n.js";

/** A tag quality (`good`, `bad`, `uncertain`) in the UI's language; an unknown code as is. */
function qualityText(q) {
  const k = `quality.${q}`;
  const v = t(k);
  return v === k ? q : v;
}

/** Rows rendered above and below the visible ones (smooth scrolling). */
const OVERSCAN = 8;

/** A value is flashed only when its row's previous value is at least this old, ms. */
const FLASH_MIN_GAP_MS = 1000;

/**
 * The filter box's rule, the same as the server's `match` (src/web/live-hub.ts `tagMatcher`):
 * case-insensitive; `*` any characters, `?` one, anchored; without `*`/`?` a substring.
 */
export function tagMatcher(pattern) {
  const p = pattern.toLowerCase();
  if (!/[*?]/.test(p)) return (tag) => tag.toLowerCase().includes(p);
  const re = new RegExp(
    `^${p
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
      .join("")}$`,
    "s",
  );
  return (tag) => re.test(tag.toLowerCase());
}

/**
 * The live values tab. The table is windowed: only the rows in view (plus {@link OVERSCAN})
 * exist in the DOM, whatever the tag count; values received are kept in `latest` and drawn
 * at most once per animation frame; the stream carries only the tags the filter box matches
 * (filtered on the server, `?match=`), plus the trended ones (`?tags=`).
 */
export async function tabLive(id, cfg, body, badge) {
  const tbody = h("tbody");
  const filter = h("input", {
    id: "tag-filter",
    placeholder: t("live.filter"),
    type: "search",
    "aria-label": t("live.filterLabel"),
  });
  const tagsByName = new Map(cfg.tags.map((g) => [g.tag_name, g]));
  /** Latest value received per tag name. */
  const latest = new Map();
  /** Tag names the table shows (the filter's matches), in configuration order. */
  let shown = cfg.tags.map((g) => g.tag_name);
  /** Rendered rows, top to bottom: `{ tr, link, unit, act, cells, tag, v }`. */
  const pool = [];
  const spacerTop = h("tr", { class: "spacer", "aria-hidden": "true" }, h("td", { colspan: 7 }));
  const spacerBottom = h("tr", { class: "spacer", "aria-hidden": "true" }, h("td", { colspan: 7 }));
  const emptyRow = h("tr", { class: "empty" }, h("td", { colspan: 7, class: "muted" }, ""));
  tbody.append(spacerTop, spacerBottom);
  /** Height of one row, px (measured from a rendered row). */
  let rowH = 32;
  let frame = 0;
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
  const table = h(
    "table",
    { id: "values-table" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ...[
          "entity.tag",
          "live.col.value",
          "live.col.unit",
          "live.col.quality",
          "live.col.ts",
          "live.col.age",
        ].map((x) => h("th", {}, t(x))),
        h("th", {}, ""),
      ),
    ),
    tbody,
  );
  const scroller = h("div", { class: "live-scroll", id: "values-scroll" }, table);
  const gap = h("p", { class: "muted", id: "stream-state" }, t("live.connecting"));
  const count = h("span", { class: "muted", id: "tag-count" }, "");
  // Shown while the server's link to the tag bus (Redis) is down, or the stream itself is:
  // the values in the table are then the last received, not live (greyed: table.stale).
  const busBanner = h(
    "div",
    { id: "bus-banner", class: "error", role: "alert", hidden: true },
    t("live.busDown"),
  );
  const setStale = (stale, why) => {
    table.classList.toggle("stale", stale);
    badge.classList.toggle("stale-badge", stale); // the app's state is not live either
    busBanner.hidden = !stale;
    if (why) busBanner.textContent = why;
  };
  body.append(busBanner, h("div", { class: "toolbar" }, filter, count, gap), scroller, trendBox);

  /** A new rendered row (its tag is bound by {@link bind}). */
  function makeRow() {
    const r = { tag: undefined, v: undefined, flip: false };
    r.link = h("a", {
      href: "#",
      class: "trend-link",
      onclick: (ev) => {
        ev.preventDefault();
        if (r.tag !== undefined) toggleTrend(r.tag);
      },
    });
    r.unit = h("td", { class: "unit" });
    r.act = h("td", { class: "act" });
    r.cells = {
      value: h("td", { class: "value num" }, "—"),
      quality: h("td", { class: "quality" }, ""),
      ts: h("td", { class: "ts" }, ""),
      age: h("td", { class: "age num" }, ""),
    };
    r.tr = h(
      "tr",
      {},
      h("td", { class: "tag" }, r.link),
      r.cells.value,
      r.unit,
      r.cells.quality,
      r.cells.ts,
      r.cells.age,
      r.act,
    );
    return r;
  }
  /** Points rendered row `r` at tag `name` (its name, unit, write button; values cleared). */
  function bind(r, name) {
    const tag = tagsByName.get(name);
    r.tag = name;
    r.v = undefined;
    r.tr.dataset.tag = name;
    r.link.textContent = name;
    r.link.title = name;
    r.unit.textContent = tag?.unit ?? "";
    r.act.replaceChildren(
      tag?.access === "read-write"
        ? h(
            "button",
            { type: "button", class: "write-btn", onclick: () => writeDialog(id, tag) },
            t("live.write"),
          )
        : "",
    );
    r.cells.value.textContent = "—";
    r.cells.quality.replaceChildren();
    r.cells.ts.textContent = "";
    r.cells.age.textContent = "";
  }
  /** Writes value `v` into rendered row `r`; `flash` marks a change seen live. */
  function fill(r, v, flash) {
    // A tag changing faster than FLASH_MIN_GAP_MS would flash without pause (and repaint
    // every frame): only a change after a quiet second is flashed.
    if (flash && r.v && v.ts - r.v.ts < FLASH_MIN_GAP_MS) flash = false;
    r.v = v;
    r.cells.value.textContent = fmtValue(v.value);
    r.cells.quality.replaceChildren(
      h("span", { class: `q q-${v.quality}` }, qualityText(v.quality)),
    );
    if (v.reason) r.cells.quality.append(h("span", { class: "muted" }, ` ${v.reason}`));
    r.cells.ts.textContent = fmtTime(v.ts);
    r.cells.age.textContent = fmtAge(Date.now() - v.ts);
    if (flash) {
      // two identical animations: switching between them restarts it without a reflow
      r.flip = !r.flip;
      r.tr.classList.toggle("flash-a", r.flip);
      r.tr.classList.toggle("flash-b", !r.flip);
    }
  }
  /** Draws the rows in view: O(rows visible), whatever the tag count. */
  function render() {
    frame = 0;
    const n = shown.length;
    if (n === 0) {
      emptyRow.firstChild.textContent =
        cfg.tags.length === 0 ? t("live.noTags") : t("live.noMatch");
      if (!emptyRow.isConnected) tbody.append(emptyRow);
    } else emptyRow.remove();
    const headH = table.tHead?.offsetHeight ?? 0;
    const top = Math.max(0, scroller.scrollTop - headH);
    const viewH = scroller.clientHeight || 600;
    const inView = Math.ceil(viewH / rowH);
    // clamped: the scroll position may be stale after the list shrank
    const first = Math.max(0, Math.min(Math.floor(top / rowH), n - inView) - OVERSCAN);
    const last = Math.min(n, Math.ceil((top + viewH) / rowH) + OVERSCAN);
    const want = Math.max(0, last - first);
    while (pool.length < want) {
      const r = makeRow();
      pool.push(r);
      spacerBottom.before(r.tr);
    }
    while (pool.length > want) pool.pop().tr.remove();
    spacerTop.style.height = `${first * rowH}px`;
    spacerBottom.style.height = `${(n - last) * rowH}px`;
    for (let k = 0; k < want; k++) {
      const r = pool[k];
      const name = shown[first + k];
      const rebound = r.tag !== name;
      if (rebound) bind(r, name);
      const v = latest.get(name);
      if (v !== undefined && v !== r.v) fill(r, v, !rebound);
    }
    count.textContent =
      n === cfg.tags.length
        ? t("live.count", { n: fmtNumber(n) })
        : t("live.countOf", { n: fmtNumber(n), total: fmtNumber(cfg.tags.length) });
    const measured = pool[0]?.tr.offsetHeight;
    if (measured && Math.abs(measured - rowH) > 0.5) {
      rowH = measured;
      schedule();
    }
  }
  /** Draws at the next animation frame (values and scrolling coalesce into one draw). */
  function schedule() {
    if (frame === 0) frame = requestAnimationFrame(render);
  }
  scroller.addEventListener("scroll", schedule, { passive: true });
  window.addEventListener("resize", schedule);

  let es = null;
  const connect = () => {
    es?.close();
    const f = filter.value.trim();
    const matches = f ? tagMatcher(f) : () => true;
    const before = shown.length;
    shown = cfg.tags.map((g) => g.tag_name).filter(matches);
    if (shown.length !== before) scroller.scrollTop = 0;
    render();
    // Only the tags this page shows are streamed (filtered on the server), plus the trended.
    const params = new URLSearchParams();
    if (f) {
      params.set("match", f);
      if (trendSeries.size) params.set("tags", [...trendSeries.keys()].join(","));
    }
    const q = f ? `?${params}` : "";
    es = new EventSource(`/api/connections/${encodeURIComponent(id)}/stream${q}`);
    es.addEventListener("open", () => {
      // "live" only once the server says its bus link is up (the first event: bus)
      gap.textContent = t("overview.connected");
    });
    es.addEventListener("error", () => {
      gap.textContent = t("live.reconnecting");
      setStale(true, t("live.streamLost"));
    });
    es.addEventListener("bus", (ev) => {
      const up = JSON.parse(ev.data).connected === true;
      gap.textContent = up ? t("live.live") : t("live.sourceDown");
      setStale(!up, t("live.busDown"));
    });
    es.addEventListener("gap", (ev) => {
      gap.textContent = t("live.gap", { reason: JSON.parse(ev.data).reason });
    });
    es.addEventListener("values", (ev) => {
      for (const v of JSON.parse(ev.data)) onValue(v);
      schedule();
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
    if (!tagsByName.has(v.tag)) return;
    latest.set(v.tag, v);
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
    for (const r of pool) if (r.v) r.cells.age.textContent = fmtAge(now - r.v.ts);
    if (trendSeries.size) chart.redraw(); // once a second, not per value
  }, 1000);
  onCleanup(() => {
    es?.close();
    cancelAnimationFrame(frame);
    window.removeEventListener("resize", schedule);
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
    const f = filter.value.trim();
    if (f && !tagMatcher(f)(tag)) connect();
    chart.set(trendSeries);
  }
}
