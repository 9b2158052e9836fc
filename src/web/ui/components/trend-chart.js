// The trend chart: several tags on one time axis, drawn by uPlot (npm uplot, embedded as
// /vendor/uPlot.esm.js). Step lines (a value holds until the next sample: deadband
// publishing), one y axis per unit, axis widths measured from their labels (never cropped),
// bad-quality stretches shaded red behind the lines, zoom (drag, wheel, buttons) and pan.

import { h } from "../core/dom.js";
import { fmtNumber, fmtValue } from "../core/format.js";
import { t } from "../core/i18n.js";
import uPlot from "../vendor/uPlot.esm.js";

const COLORS = [
  "#0b6bcb",
  "#c2410c",
  "#15803d",
  "#7e22ce",
  "#0e7490",
  "#a16207",
  "#be185d",
  "#334155",
];
const WINDOWS = [
  [60_000, "1 min"],
  [5 * 60_000, "5 min"],
  [15 * 60_000, "15 min"],
];

/** A y (or x) axis whose width fits its longest tick label (uPlot's default is a fixed 50 px). */
function fitSize(self, values, axisIdx, cycleNum) {
  const axis = self.axes[axisIdx];
  if (cycleNum > 1) return axis._size;
  let size = axis.ticks.size + axis.gap;
  const longest = (values ?? []).reduce(
    (a, v) => (String(v).length > a.length ? String(v) : a),
    "",
  );
  if (longest !== "") {
    self.ctx.font = axis.font[0];
    size += self.ctx.measureText(longest).width / devicePixelRatio;
  }
  return Math.ceil(size) + 4;
}

const num = (v) => (typeof v === "number" ? v : typeof v === "boolean" ? Number(v) : null);

/**
 * Builds aligned uPlot data from `series` (tag → points `{ts, value, quality}` sorted by ts):
 * x = the union of sample times (s), each tag's value held until its next sample; `bad`
 * lists, per tag, the [from, to) stretches (s) whose quality was not good.
 */
export function alignSeries(series, now) {
  const tags = [...series.keys()];
  const times = [...new Set(tags.flatMap((t) => series.get(t).map((p) => p.ts)))].sort(
    (a, b) => a - b,
  );
  times.push(now);
  const xs = times.map((t) => t / 1000);
  const bad = [];
  const ys = tags.map((t) => {
    const pts = series.get(t);
    const out = new Array(times.length).fill(null);
    let j = 0;
    let cur = null;
    let badFrom = null;
    for (let i = 0; i < times.length; i++) {
      while (j < pts.length && pts[j].ts <= times[i]) {
        const p = pts[j++];
        cur = p.quality === "bad" ? null : num(p.value);
        if (p.quality !== "good" && badFrom === null) badFrom = p.ts;
        if (p.quality === "good" && badFrom !== null) {
          bad.push([badFrom / 1000, p.ts / 1000]);
          badFrom = null;
        }
      }
      out[i] = pts.length && pts[0].ts <= times[i] ? cur : null;
    }
    if (badFrom !== null) bad.push([badFrom / 1000, now / 1000]);
    return out;
  });
  return { data: [xs, ...ys], bad };
}

/**
 * A trend panel for the tags of `unitOf` (tag → unit). @returns `{ el, set(series),
 * redraw(), destroy() }`; `series` is a Map tag → points (the panel keeps a reference and
 * redraws on `redraw()`).
 */
export function trendChart({ unitOf, onClose = () => {} }) {
  let series = new Map();
  let windowMs = 5 * 60_000;
  let follow = true; // the x range follows now until the user zooms or pans
  let plot = null;
  let bad = [];
  const box = h("div", { class: "trend-plot", role: "img", "aria-label": t("trend.chart") });
  const count = h("span", { class: "muted", id: "trend-count" }, "");
  const title = h("h2", { id: "trend-title" }, t("trend.title"));
  const liveBtn = h(
    "button",
    { type: "button", class: "secondary", id: "trend-live", disabled: true },
    t("trend.follow"),
  );
  const winSel = h(
    "select",
    { id: "trend-window", "aria-label": t("trend.window") },
    ...WINDOWS.map(([ms, label]) =>
      h("option", { value: String(ms), selected: ms === windowMs }, label),
    ),
  );
  const zoom = (f) => {
    if (!plot) return;
    const { min, max } = plot.scales.x;
    const mid = (min + max) / 2;
    const half = ((max - min) / 2) * f;
    setFollow(false);
    plot.setScale("x", { min: mid - half, max: mid + half });
  };
  const pan = (f) => {
    if (!plot) return;
    const { min, max } = plot.scales.x;
    const d = (max - min) * f;
    setFollow(false);
    plot.setScale("x", { min: min + d, max: max + d });
  };
  const setFollow = (on) => {
    follow = on;
    liveBtn.disabled = on;
  };
  liveBtn.addEventListener("click", () => {
    setFollow(true);
    redraw();
  });
  winSel.addEventListener("change", () => {
    windowMs = Number(winSel.value);
    setFollow(true);
    redraw();
  });
  const el = h(
    "section",
    { id: "trend", class: "card", hidden: true, "aria-labelledby": "trend-title" },
    h(
      "div",
      { class: "toolbar" },
      title,
      count,
      h(
        "div",
        { class: "buttons tight" },
        winSel,
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            title: t("trend.earlier"),
            "aria-label": t("trend.panEarlier"),
            onclick: () => pan(-0.5),
          },
          "◀",
        ),
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            title: t("trend.later"),
            "aria-label": t("trend.panLater"),
            onclick: () => pan(0.5),
          },
          "▶",
        ),
        h(
          "button",
          { type: "button", class: "secondary", id: "trend-zoom-in", onclick: () => zoom(0.5) },
          t("trend.zoomIn"),
        ),
        h(
          "button",
          { type: "button", class: "secondary", onclick: () => zoom(2) },
          t("trend.zoomOut"),
        ),
        liveBtn,
        h(
          "button",
          { type: "button", class: "secondary", id: "trend-close", onclick: () => onClose() },
          t("common.close"),
        ),
      ),
    ),
    h("p", { class: "muted small" }, t("trend.help")),
    box,
  );

  function build() {
    plot?.destroy();
    plot = null;
    const tags = [...series.keys()];
    if (tags.length === 0) return;
    const units = [...new Set(tags.map((t) => unitOf(t) ?? ""))];
    const width = Math.max(300, box.clientWidth || 700);
    plot = new uPlot(
      {
        width,
        height: 260,
        cursor: { drag: { x: true, y: false } },
        scales: Object.fromEntries([["x", { time: true }], ...units.map((u) => [`y:${u}`, {}])]),
        axes: [
          { size: fitSize },
          ...units.map((u, i) => ({
            scale: `y:${u}`,
            side: i % 2 === 0 ? 3 : 1,
            label: u || undefined,
            grid: { show: i === 0 },
            size: fitSize,
            values: (_u, vals) => vals.map((v) => fmtValue(v)),
          })),
        ],
        series: [
          {},
          ...tags.map((t, i) => ({
            label: unitOf(t) ? `${t} (${unitOf(t)})` : t,
            scale: `y:${unitOf(t) ?? ""}`,
            stroke: COLORS[i % COLORS.length],
            width: 1.5,
            paths: uPlot.paths.stepped({ align: 1 }),
            value: (_u, v) => (v === null ? "—" : fmtValue(v)),
            points: { show: false },
          })),
        ],
        hooks: {
          // bad-quality stretches behind the lines
          drawClear: [
            (u) => {
              const { ctx, bbox } = u;
              ctx.save();
              ctx.fillStyle = "rgba(198, 40, 40, 0.14)";
              for (const [a, b] of bad) {
                const x0 = Math.max(bbox.left, u.valToPos(a, "x", true));
                const x1 = Math.min(bbox.left + bbox.width, u.valToPos(b, "x", true));
                if (x1 > x0) ctx.fillRect(x0, bbox.top, Math.max(1, x1 - x0), bbox.height);
              }
              ctx.restore();
            },
          ],
          setSelect: [
            (u) => {
              if (u.select.width > 0) setFollow(false);
            },
          ],
        },
      },
      [[]],
      box,
    );
    plot.over.addEventListener(
      "wheel",
      (ev) => {
        ev.preventDefault();
        const { min, max } = plot.scales.x;
        const at = plot.posToVal(ev.offsetX, "x");
        const f = ev.deltaY < 0 ? 0.8 : 1.25;
        setFollow(false);
        plot.setScale("x", { min: at - (at - min) * f, max: at + (max - at) * f });
      },
      { passive: false },
    );
  }

  function redraw() {
    if (!plot) return;
    const now = Date.now();
    const a = alignSeries(series, now);
    bad = a.bad;
    let points = 0;
    for (const p of series.values()) points += p.length;
    count.textContent = t(series.size === 1 ? "trend.count1" : "trend.count", {
      points: fmtNumber(points),
      tags: series.size,
    });
    plot.setData(a.data, false);
    if (follow) plot.setScale("x", { min: (now - windowMs) / 1000, max: now / 1000 });
    else plot.redraw(false);
  }

  const ro = new ResizeObserver(() => {
    if (plot && box.clientWidth) plot.setSize({ width: box.clientWidth, height: 260 });
  });
  ro.observe(box);

  return {
    el,
    /** Shows `s` (Map tag → points): rebuilds the chart when the set of tags changed. */
    set(s) {
      series = s;
      el.hidden = s.size === 0;
      title.textContent = s.size
        ? t("trend.titleOf", { tags: [...s.keys()].join(", ") })
        : t("trend.title");
      box.setAttribute("aria-label", t("trend.chartOf", { tags: [...s.keys()].join(", ") }));
      build();
      redraw();
    },
    redraw,
    /** The uPlot instance (tests read its axes). */
    get plot() {
      return plot;
    },
    /** The window shown, ms (points older than the largest window may be dropped). */
    maxWindowMs: WINDOWS[WINDOWS.length - 1][0],
    destroy() {
      ro.disconnect();
      plot?.destroy();
    },
  };
}
