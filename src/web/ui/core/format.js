// Formats of times, ages, values and connection addresses.
export function fmtTime(ts) {
  if (!ts) return "";
  const d = new Date(ts);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function fmtDateTime(ts) {
  if (!ts) return "";
  return `${new Date(ts).toISOString().slice(0, 10)} ${fmtTime(ts)}`;
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
