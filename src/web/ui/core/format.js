// Formats of times, ages, values and connection addresses.
import { currentLang, t } from "./i18n.js";
export function fmtTime(ts) {
  if (!ts) return "";
  const d = new Date(ts);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Date and time in the UI's language (`2026. 12. 2. 06:01:02.123` in Korean, `12/2/2026, …` in English). */
export function fmtDateTime(ts) {
  if (!ts) return "";
  const date = new Intl.DateTimeFormat(currentLang(), { dateStyle: "short" }).format(new Date(ts));
  return `${date} ${fmtTime(ts)}`;
}

export function fmtAge(ms) {
  if (ms === undefined || ms === null || ms < 0) return "";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export function fmtValue(v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "number")
    return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(7)));
  return String(v);
}

export function addressOf(c) {
  if (c.protocol === "opcua") return c.endpoint_url ?? "";
  if (c.protocol === "modbus-rtu") return `${c.serial_device ?? ""} @${c.baud_rate ?? ""}`;
  return `${c.host ?? ""}:${c.port ?? ""} #${c.unit_id ?? ""}`;
}

/** A number with the language's grouping (`12,345` / `12,345`), "—" when absent. */
export function fmtNumber(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(n)) return "—";
  return new Intl.NumberFormat(currentLang(), { maximumFractionDigits: digits }).format(n);
}

/** Bytes as `512 B`, `3.2 MiB`, `1.5 GiB`; "—" when unknown. */
export function fmtBytes(n) {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const nf = new Intl.NumberFormat(currentLang(), { maximumFractionDigits: i === 0 ? 0 : 1 });
  return `${nf.format(v)} ${units[i]}`;
}

/** A duration in seconds as `45 s`, `12 min`, `3 h 20 min`, `4 d 2 h`. */
export function fmtDuration(s) {
  if (s === null || s === undefined) return "—";
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

/**
 * An age that is an upper bound, rounded UP so that it stays one: `0.1 s` … `59.9 s` (at least
 * `0.1 s`), then `2 min`, then `1.1 h`. `ms` ≥ 0.
 */
export function fmtAgeBound(ms) {
  if (ms <= 59_900) return `${(Math.max(1, Math.ceil(ms / 100)) / 10).toFixed(1)} s`;
  if (ms <= 3_600_000) return `${Math.ceil(ms / 60_000)} min`;
  return `${(Math.ceil(ms / 360_000) / 10).toFixed(1)} h`;
}

/**
 * A last good poll (epoch ms) that an app reported in its health report (every 5 s) as the
 * age it is at most: "≤ 3.1 s ago" (a faster block has polled since the report; the same
 * figure as `nodi-edge status`, docs/supervisor.md). `now`: the server's time of the
 * response (its `ts`), so that the browser's clock does not enter. "never" when absent.
 */
export function fmtLastGood(ts, now = Date.now()) {
  if (!ts) return t("common.never");
  return t("common.atMostAgo", { age: fmtAgeBound(Math.max(0, now - ts)) });
}

/** The tooltip of a {@link fmtLastGood} cell: which health report the figure is as of. */
export function lastGoodHelp(reportedAt) {
  return reportedAt ? t("status.lastGoodHelp", { at: fmtDateTime(reportedAt) }) : "";
}

/** "3.2 s ago" from an epoch-ms time; "never" when absent. */
export function fmtAgo(ts, now = Date.now()) {
  if (!ts) return t("common.never");
  return t("common.ago", { age: fmtAge(Math.max(0, now - ts)) });
}
