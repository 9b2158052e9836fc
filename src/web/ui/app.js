// Nodi Edge web UI: one page, no library, no build step. Embedded in the ne-web executable
// (src/web/assets.ts). Talks to the JSON API of docs/api.md with the session cookie and the
// CSRF token of /api/session; live values arrive by server-sent events.

const state = {
  user: null,
  csrf: null,
  schema: null,
  /** Cleanup functions of the current page (event sources, timers). */
  cleanups: [],
};

// ---------------------------------------------------------------- helpers

/** Creates an element: h("td", { class: "x", onclick: f }, "text", child). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "value") el.value = v;
    else if (k === "checked") el.checked = Boolean(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function svg(tag, attrs) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs ?? {})) el.setAttribute(k, String(v));
  return el;
}

const $ = (sel, root = document) => root.querySelector(sel);
const main = () => $("#main");

function setMain(...children) {
  main().replaceChildren(...children);
}

function onCleanup(f) {
  state.cleanups.push(f);
}

function cleanup() {
  for (const f of state.cleanups.splice(0)) {
    try {
      f();
    } catch {
      // already closed
    }
  }
}

class ApiError extends Error {
  constructor(status, data) {
    super(data?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.data = data;
  }
}

/** Calls the JSON API. Non-GET requests carry the CSRF token. Throws ApiError. */
async function api(method, path, body) {
  const headers = {};
  if (method !== "GET" && state.csrf) headers["x-csrf-token"] = state.csrf;
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["content-type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const res = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  const isJson = (res.headers.get("content-type") ?? "").includes("application/json");
  const data = isJson ? await res.json() : await res.text();
  if (res.status === 401 && path !== "/api/login" && path !== "/api/session") {
    state.user = null;
    showLogin(false);
    throw new ApiError(401, data);
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

function fmtTime(ts) {
  if (!ts) return "";
  const d = new Date(ts);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function fmtDateTime(ts) {
  if (!ts) return "";
  return `${new Date(ts).toISOString().slice(0, 10)} ${fmtTime(ts)}`;
}

function fmtAge(ms) {
  if (ms === undefined || ms === null || ms < 0) return "";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

function fmtValue(v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "number")
    return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(7)));
  return String(v);
}

function toast(text, kind = "info") {
  const t = h("div", { class: `toast ${kind}`, role: "status" }, text);
  document.body.append(t);
  setTimeout(() => t.remove(), 5000);
}

function errorBox(err) {
  const box = h("div", { class: "error", role: "alert" }, err.message);
  const issues = err.data?.error?.issues;
  if (Array.isArray(issues)) {
    box.append(
      h(
        "ul",
        {},
        ...issues.map((i) => h("li", {}, `${i.key || i.entity} · ${i.field}: ${i.message}`)),
      ),
    );
  }
  return box;
}

function stateBadge(status) {
  const s = status?.state ?? "unknown";
  return h("span", { class: `badge state-${s}`, title: status?.reason ?? "" }, s);
}

function addressOf(c) {
  if (c.protocol === "opcua") return c.endpoint_url ?? "";
  if (c.protocol === "modbus-rtu") return `${c.serial_device ?? ""} @${c.baud_rate ?? ""}`;
  return `${c.host ?? ""}:${c.port ?? ""} #${c.unit_id ?? ""}`;
}

/** `GET /api/schema`, fetched once: `{ fields, protocolFields }`. */
async function schemaInfo() {
  state.schema ??= await api("GET", "/api/schema");
  return state.schema;
}

async function schema() {
  return (await schemaInfo()).fields;
}

/** Parses a form input into the JSON value the API expects for `field`. */
function parseInput(field, input) {
  if (field.kind === "boolean") return input.checked;
  const raw = input.value.trim();
  if (raw === "") return field.nullable ? null : undefined;
  if (field.kind === "number") {
    const n = Number(raw);
    return Number.isFinite(n) ? n : raw;
  }
  return raw;
}

function fieldInput(field, value, attrs = {}) {
  const common = { name: field.name, "data-field": field.name, ...attrs };
  if (field.kind === "boolean") {
    return h("input", { ...common, type: "checkbox", checked: value ?? field.default ?? false });
  }
  if (field.options) {
    return h(
      "select",
      common,
      field.required ? null : h("option", { value: "" }, ""),
      ...field.options.map((o) =>
        h("option", { value: String(o), selected: String(o) === String(value ?? "") }, String(o)),
      ),
    );
  }
  return h("input", {
    ...common,
    type: "text",
    value: value === null || value === undefined ? "" : String(value),
    inputmode: field.kind === "number" ? "decimal" : null,
  });
}

/** Marks `field` inputs inside `root` with the issue message (rule named by the server). */
function showFieldError(root, field, message) {
  const input = root.querySelector(`[data-field="${CSS.escape(field)}"]`);
  if (!input) return false;
  input.classList.add("invalid");
  input.setAttribute("aria-invalid", "true");
  const msg = h("div", { class: "field-error", "data-error-for": field }, message);
  input.after(msg);
  return true;
}

function clearErrors(root) {
  for (const e of root.querySelectorAll(".field-error, .error")) e.remove();
  for (const e of root.querySelectorAll(".invalid")) {
    e.classList.remove("invalid");
    e.removeAttribute("aria-invalid");
  }
}

// ---------------------------------------------------------------- login

function showLogin(setup) {
  cleanup();
  $("#nav").hidden = true;
  const err = h("p", { class: "error", id: "login-error", hidden: true });
  const form = h(
    "form",
    { id: "login-form", class: "card narrow" },
    h("h1", {}, "Log in"),
    setup
      ? h(
          "p",
          { class: "muted" },
          "No user exists yet. Set NE_WEB_ADMIN_PASSWORD and restart ne-web, or run `ne-web passwd admin`.",
        )
      : null,
    h(
      "label",
      {},
      "User",
      h("input", { name: "username", autocomplete: "username", required: true }),
    ),
    h(
      "label",
      {},
      "Password",
      h("input", {
        name: "password",
        type: "password",
        autocomplete: "current-password",
        required: true,
      }),
    ),
    h("button", { type: "submit" }, "Log in"),
    err,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    try {
      const r = await api("POST", "/api/login", {
        username: form.username.value,
        password: form.password.value,
      });
      state.user = r.username;
      state.csrf = r.csrf;
      enterApp();
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
    }
  });
  setMain(form);
}

function enterApp() {
  $("#nav").hidden = false;
  $("#who").textContent = state.user;
  if (location.hash === "" || location.hash === "#login") location.hash = "#/";
  route();
}

// ---------------------------------------------------------------- connections list

async function pageConnections() {
  const tbody = h("tbody");
  const err = h("div");
  const table = h(
    "table",
    { id: "conn-table" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ...[
          "Connection",
          "Protocol",
          "Address",
          "Enabled",
          "State",
          "Reason",
          "Last good poll",
          "Errors",
          "Restarts",
          "",
        ].map((t) => h("th", {}, t)),
      ),
    ),
    tbody,
  );
  setMain(
    h(
      "div",
      { class: "toolbar" },
      h("h1", {}, "Connections"),
      h("a", { class: "button", href: "#/new", id: "add-connection" }, "Add connection"),
    ),
    err,
    table,
  );
  async function refresh() {
    let data;
    try {
      data = await api("GET", "/api/connections");
      err.replaceChildren();
    } catch (e) {
      if (e.status !== 401) err.replaceChildren(errorBox(e));
      return;
    }
    tbody.replaceChildren(
      ...data.connections.map((c) => {
        const st = c.status ?? {};
        const errs = Object.entries(st.errors ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(" ");
        return h(
          "tr",
          { "data-conn": c.conn_id },
          h("td", {}, h("a", { href: `#/conn/${encodeURIComponent(c.conn_id)}/live` }, c.conn_id)),
          h("td", {}, c.protocol),
          h("td", {}, addressOf(c)),
          h("td", {}, c.enabled ? "yes" : "no"),
          h(
            "td",
            { class: "state" },
            c.enabled ? stateBadge(c.status) : h("span", { class: "badge" }, "disabled"),
          ),
          h(
            "td",
            { class: "muted", title: st.cause ?? "" },
            c.status?.reason ?? "",
            st.cause ? h("div", { class: "cause" }, st.cause) : "",
          ),
          h("td", {}, st.last_good_poll ? fmtDateTime(st.last_good_poll) : "never"),
          h(
            "td",
            {
              title: `${errs}${st.writes_refused ? `; ${st.writes_refused} write(s) refused` : ""}`,
            },
            st.error_total ?? "",
          ),
          h(
            "td",
            { title: "restarts after a failure; requested = after a settings change (exit 75)" },
            st.restarts ?? "",
            st.restarts_requested ? ` (+${st.restarts_requested} requested)` : "",
          ),
          h(
            "td",
            { class: "actions" },
            h(
              "button",
              {
                type: "button",
                onclick: () => toggleEnabled(c.conn_id, !c.enabled).then(refresh),
              },
              c.enabled ? "Disable" : "Enable",
            ),
            h(
              "button",
              {
                type: "button",
                class: "danger",
                onclick: () => removeConnection(c.conn_id).then(refresh),
              },
              "Remove",
            ),
          ),
        );
      }),
    );
    if (data.connections.length === 0) {
      tbody.append(h("tr", {}, h("td", { colspan: 10, class: "muted" }, "No connections yet.")));
    }
  }
  await refresh();
  const t = setInterval(refresh, 2000);
  onCleanup(() => clearInterval(t));
}

async function toggleEnabled(id, enabled) {
  try {
    await api(
      "POST",
      `/api/connections/${encodeURIComponent(id)}/${enabled ? "enable" : "disable"}`,
    );
    toast(`${id} ${enabled ? "enabled" : "disabled"}`);
  } catch (e) {
    toast(e.message, "bad");
  }
}

async function removeConnection(id) {
  if (
    !(await confirmDialog(
      `Remove connection ${id} with all its blocks and tags? Its app is stopped.`,
    ))
  )
    return;
  try {
    await api("DELETE", `/api/connections/${encodeURIComponent(id)}`);
    toast(`${id} removed`);
    if (location.hash.startsWith("#/conn/")) location.hash = "#/";
  } catch (e) {
    toast(e.message, "bad");
  }
}

/** A modal yes/no question. Resolves true on "Confirm". */
function confirmDialog(text, confirmLabel = "Confirm") {
  const dlg = $("#dialog");
  return new Promise((resolve) => {
    const done = (v) => {
      dlg.close();
      resolve(v);
    };
    dlg.replaceChildren(
      h("p", { id: "confirm-text" }, text),
      h(
        "div",
        { class: "buttons" },
        h("button", { type: "button", id: "confirm-yes", onclick: () => done(true) }, confirmLabel),
        h("button", { type: "button", class: "secondary", onclick: () => done(false) }, "Cancel"),
      ),
    );
    dlg.showModal();
  });
}

// ---------------------------------------------------------------- connection form

async function connectionForm(existing) {
  const { fields: allFields, protocolFields: PROTOCOL_FIELDS } = await schemaInfo();
  const fields = allFields.connection;
  const form = h("form", { id: "conn-form", class: "card grid-form" });
  const rows = fields.map((f) => {
    const input = fieldInput(f, existing ? existing[f.name] : undefined, {
      disabled: existing && f.name === "conn_id" ? true : null,
      type: f.name === "password" ? "password" : undefined,
    });
    return h("label", { class: "field", "data-row": f.name }, h("span", {}, f.name), input);
  });
  const status = h("div", { class: "form-status" });
  form.append(
    ...rows,
    h(
      "div",
      { class: "buttons" },
      h("button", { type: "submit", id: "conn-save" }, existing ? "Save" : "Add connection"),
    ),
    status,
  );
  const applyProtocol = () => {
    const p = form.querySelector('[data-field="protocol"]').value;
    for (const r of rows) {
      const only = PROTOCOL_FIELDS[r.dataset.row];
      r.hidden = Boolean(only && !only.includes(p));
    }
  };
  form.querySelector('[data-field="protocol"]').addEventListener("change", applyProtocol);
  applyProtocol();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const p = form.querySelector('[data-field="protocol"]').value;
    const body = {};
    for (const f of fields) {
      const only = PROTOCOL_FIELDS[f.name];
      if (only && !only.includes(p)) {
        // Not used by this protocol: cleared when it may be empty, else left at its default.
        if (f.nullable) body[f.name] = null;
        continue;
      }
      const v = parseInput(f, form.querySelector(`[data-field="${f.name}"]`));
      if (v !== undefined) body[f.name] = v;
    }
    try {
      if (existing) {
        body.conn_id = existing.conn_id;
        await api("PUT", `/api/connections/${encodeURIComponent(existing.conn_id)}`, body);
        toast(`${existing.conn_id} saved`);
        status.replaceChildren(h("p", { class: "ok" }, "Saved."));
      } else {
        await api("POST", "/api/connections", body);
        toast(`${body.conn_id} added`);
        location.hash = `#/conn/${encodeURIComponent(body.conn_id)}/blocks`;
      }
    } catch (e) {
      for (const i of e.data?.error?.issues ?? []) {
        if (i.entity === "connection") showFieldError(form, i.field, i.message);
      }
      status.replaceChildren(errorBox(e));
    }
  });
  return form;
}

async function pageNewConnection() {
  setMain(h("h1", {}, "Add connection"), await connectionForm(null));
}

// ---------------------------------------------------------------- one connection

const TABS = [
  ["live", "Live values"],
  ["devices", "Devices"],
  ["blocks", "Blocks"],
  ["tags", "Tags"],
  ["settings", "Settings"],
  ["diag", "Diagnostics"],
];

async function pageConnection(id, tab) {
  let cfg;
  try {
    cfg = await api("GET", `/api/connections/${encodeURIComponent(id)}`);
  } catch (e) {
    setMain(errorBox(e));
    return;
  }
  const badge = h("span", { id: "conn-state" }, stateBadge(cfg.status));
  const head = h(
    "div",
    { class: "toolbar" },
    h("h1", {}, id, " ", badge),
    h("span", { class: "muted" }, `${cfg.connection.protocol} ${addressOf(cfg.connection)}`),
    cfg.connection.enabled ? null : h("span", { class: "badge" }, "disabled"),
  );
  const tabs = h(
    "nav",
    { class: "tabs" },
    // devices (unit ids on one link) are a Modbus thing
    ...TABS.filter(([k]) => k !== "devices" || cfg.connection.protocol !== "opcua").map(
      ([k, label]) =>
        h(
          "a",
          { href: `#/conn/${encodeURIComponent(id)}/${k}`, class: k === tab ? "active" : "" },
          label,
        ),
    ),
  );
  const body = h("section", { id: `tab-${tab}` });
  setMain(head, tabs, body);
  const pages = {
    live: tabLive,
    devices: tabDevices,
    blocks: tabBlocks,
    tags: tabTags,
    settings: tabSettings,
    diag: tabDiag,
  };
  await (pages[tab] ?? tabLive)(id, cfg, body, badge);
}

// ---- live values and trend

async function tabLive(id, cfg, body, badge) {
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

/** Asks for a value, confirms, writes, and shows the device's answer. */
function writeDialog(id, tag) {
  const dlg = $("#dialog");
  const path = `/${id}/${tag.tag_name}`;
  const isBool = tag.data_type === "bool" || tag.data_type === "bit";
  const input = isBool
    ? h(
        "select",
        { id: "write-value" },
        h("option", { value: "true" }, "true (1)"),
        h("option", { value: "false" }, "false (0)"),
      )
    : h("input", {
        id: "write-value",
        type: "text",
        inputmode: tag.data_type === "string" ? null : "decimal",
        autofocus: true,
      });
  const result = h("div", { id: "write-result" });
  const writeBtn = h("button", { type: "button", id: "write-go" }, "Write");
  const form = h(
    "div",
    {},
    h("h2", {}, `Write ${path}`),
    h(
      "p",
      { class: "muted" },
      `${tag.data_type}${tag.unit ? `, ${tag.unit}` : ""}. The value is sent to the device.`,
    ),
    h("label", {}, "Value ", input),
    h(
      "div",
      { class: "buttons" },
      writeBtn,
      h("button", { type: "button", class: "secondary", onclick: () => dlg.close() }, "Close"),
    ),
    result,
  );
  writeBtn.addEventListener("click", () => {
    // Exactly what was typed, as text: the server's strict conversion
    // (src/core/write-value.ts) decides, and its refusal names that text. Number() here
    // turned "0x10" into 16 and "abc" into NaN (sent as null).
    const value = isBool ? input.value === "true" : input.value;
    result.replaceChildren(
      h("p", { id: "write-confirm-text" }, `Write ${JSON.stringify(value)} to ${path}?`),
      h(
        "div",
        { class: "buttons" },
        h(
          "button",
          {
            type: "button",
            id: "write-confirm",
            onclick: async () => {
              result.replaceChildren(h("p", { class: "muted" }, "writing…"));
              try {
                const r = await api(
                  "POST",
                  `/api/connections/${encodeURIComponent(id)}/tags/${encodeURIComponent(tag.tag_name)}/write`,
                  { value },
                );
                result.replaceChildren(
                  h(
                    "p",
                    { class: "ok", id: "write-done" },
                    `Done: ${path} = ${JSON.stringify(r.value)} (${r.elapsed_ms} ms)`,
                  ),
                );
              } catch (e) {
                const reason = e.data?.reason ?? e.data?.error?.reason ?? "";
                const msg = e.data?.message ?? e.message;
                result.replaceChildren(
                  reason === "outcome_unknown"
                    ? h(
                        "p",
                        { class: "bad", id: "write-unknown" },
                        "Outcome unknown: the device may have applied it; read back before retrying.",
                        h("br"),
                        h("span", { class: "muted" }, msg),
                      )
                    : h(
                        "p",
                        { class: "bad", id: "write-failed" },
                        `Failed: ${reason}${msg && msg !== reason ? ` — ${msg}` : ""}`,
                      ),
                );
              }
            },
          },
          "Confirm write",
        ),
        h(
          "button",
          { type: "button", class: "secondary", onclick: () => result.replaceChildren() },
          "Cancel",
        ),
      ),
    );
  });
  dlg.replaceChildren(form);
  dlg.showModal();
}

// ---- blocks and tags tables

function tableEditor({ id, entity, rows, keyField, fields, urlOf, title }) {
  const editable = fields.filter((f) => f.name !== "conn_id");
  const tbody = h("tbody");
  const status = h("div", { class: "form-status" });
  const makeRow = (row, isNew) => {
    const tr = h("tr", { "data-key": isNew ? "" : row[keyField], class: isNew ? "new" : "" });
    for (const f of editable) tr.append(h("td", {}, fieldInput(f, row[f.name])));
    const save = async () => {
      clearErrors(tr);
      status.replaceChildren();
      const body = {};
      for (const f of editable) {
        const v = parseInput(f, tr.querySelector(`[data-field="${f.name}"]`));
        if (v !== undefined) body[f.name] = v;
      }
      const original = tr.dataset.key || body[keyField];
      if (!original) {
        showFieldError(tr, keyField, `${keyField} must not be empty`);
        return;
      }
      try {
        await api("PUT", urlOf(original), body);
        tr.dataset.key = body[keyField];
        tr.classList.remove("new");
        toast(`${title.slice(0, -1)} ${body[keyField]} saved`);
        status.replaceChildren(h("p", { class: "ok" }, `Saved ${body[keyField]}.`));
      } catch (e) {
        let placed = 0;
        for (const i of e.data?.error?.issues ?? []) {
          if (
            i.entity === entity &&
            (i.key === `${id}/${body[keyField]}` || i.key === `${id}/${original}`)
          ) {
            if (showFieldError(tr, i.field, i.message)) placed++;
          }
        }
        status.replaceChildren(errorBox(e));
        if (placed === 0 && e.data?.error?.issues === undefined) toast(e.message, "bad");
      }
    };
    const del = async () => {
      if (!tr.dataset.key) {
        tr.remove();
        return;
      }
      if (!(await confirmDialog(`Remove ${entity} ${tr.dataset.key}?`))) return;
      try {
        await api("DELETE", urlOf(tr.dataset.key));
        tr.remove();
        toast(`${tr.dataset.key} removed`);
      } catch (e) {
        status.replaceChildren(errorBox(e));
      }
    };
    tr.append(
      h(
        "td",
        { class: "actions" },
        h("button", { type: "button", class: "save-row", onclick: save }, "Save"),
        h("button", { type: "button", class: "danger", onclick: del }, "Remove"),
      ),
    );
    return tr;
  };
  for (const r of rows) tbody.append(makeRow(r, false));
  const table = h(
    "table",
    { class: "edit-table", id: `${entity}-table` },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ...editable.map((f) =>
          h("th", { title: f.options ? f.options.join(", ") : f.kind }, f.name),
        ),
        h("th", {}, ""),
      ),
    ),
    tbody,
  );
  return h(
    "div",
    {},
    h(
      "div",
      { class: "toolbar" },
      h("h2", {}, title),
      h(
        "button",
        { type: "button", id: `add-${entity}`, onclick: () => tbody.append(makeRow({}, true)) },
        `Add ${entity}`,
      ),
      h(
        "a",
        {
          class: "button secondary",
          href: `/api/export?file=${entity}s&conn=${encodeURIComponent(id)}`,
        },
        "Export CSV",
      ),
    ),
    status,
    h("div", { class: "scroll" }, table),
  );
}

async function tabDevices(id, cfg, body) {
  const fields = (await schema()).device;
  body.append(
    h(
      "p",
      { class: "muted" },
      `Devices on this link, each polled with its own unit id (a block names its device; a block without one is unit ${cfg.connection.unit_id ?? "?"}). A device's tags are named {device}/{tag}. See docs/csv.md "devices.csv".`,
    ),
    tableEditor({
      id,
      entity: "device",
      rows: cfg.devices ?? [],
      keyField: "device",
      fields,
      title: "Devices",
      urlOf: (k) => `/api/connections/${encodeURIComponent(id)}/devices/${encodeURIComponent(k)}`,
    }),
  );
}

async function tabBlocks(id, cfg, body) {
  const fields = (await schema()).block;
  body.append(
    tableEditor({
      id,
      entity: "block",
      rows: cfg.blocks,
      keyField: "block_id",
      fields,
      title: "Blocks",
      urlOf: (k) => `/api/connections/${encodeURIComponent(id)}/blocks/${encodeURIComponent(k)}`,
    }),
  );
}

async function tabTags(id, cfg, body) {
  const fields = (await schema()).tag;
  body.append(
    tableEditor({
      id,
      entity: "tag",
      rows: cfg.tags,
      keyField: "tag_name",
      fields,
      title: "Tags",
      urlOf: (k) => `/api/connections/${encodeURIComponent(id)}/tags/${encodeURIComponent(k)}`,
    }),
  );
}

async function tabSettings(id, cfg, body) {
  body.append(
    await connectionForm(cfg.connection),
    h(
      "div",
      { class: "buttons" },
      h(
        "button",
        { type: "button", onclick: () => toggleEnabled(id, !cfg.connection.enabled).then(route) },
        cfg.connection.enabled ? "Disable" : "Enable",
      ),
      h(
        "button",
        { type: "button", class: "danger", onclick: () => removeConnection(id) },
        "Remove connection",
      ),
    ),
  );
}

// ---- diagnostics

/** Renders a health object generically: scalars as a list, per-block maps and arrays as tables. */
function renderHealth(health) {
  if (!health) return h("p", { class: "muted" }, "The app has not published its health yet.");
  const scalars = [];
  const tables = [];
  for (const [k, v] of Object.entries(health)) {
    if (["recent_logs", "recentLogs", "logs"].includes(k)) continue;
    if (v === null || typeof v !== "object") scalars.push([k, v]);
    else if (Array.isArray(v) && v.every((x) => x && typeof x === "object")) tables.push([k, v]);
    else if (
      !Array.isArray(v) &&
      Object.values(v).every((x) => x && typeof x === "object" && !Array.isArray(x))
    ) {
      tables.push([k, Object.entries(v).map(([key, x]) => ({ "": key, ...flat(x) }))]);
    } else if (!Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(flat(v))) scalars.push([`${k}.${k2}`, v2]);
    } else scalars.push([k, JSON.stringify(v)]);
  }
  const out = h("div", { class: "health" });
  if (scalars.length) {
    out.append(
      h(
        "table",
        { class: "kv", id: "health-counters" },
        h(
          "tbody",
          {},
          ...scalars.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, fmtHealth(k, v)))),
        ),
      ),
    );
  }
  for (const [k, rows] of tables) {
    const cols = [...new Set(rows.flatMap((r) => Object.keys(flat(r))))];
    out.append(
      h("h3", {}, k),
      h(
        "div",
        { class: "scroll" },
        h(
          "table",
          { class: "health-table", "data-health": k },
          h("thead", {}, h("tr", {}, ...cols.map((c) => h("th", {}, c)))),
          h(
            "tbody",
            {},
            ...rows.map((r) =>
              h("tr", {}, ...cols.map((c) => h("td", {}, fmtHealth(c, flat(r)[c])))),
            ),
          ),
        ),
      ),
    );
  }
  return out;
}

function flat(o, prefix = "") {
  const out = {};
  for (const [k, v] of Object.entries(o ?? {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v)) Object.assign(out, flat(v, key));
    else out[key] = Array.isArray(v) ? JSON.stringify(v) : v;
  }
  return out;
}

function fmtHealth(key, v) {
  if (typeof v === "number" && v > 1e12 && v < 1e13 && /(ts|at|since|time|poll|good)$/i.test(key)) {
    return fmtDateTime(v);
  }
  if (typeof v === "number") return fmtValue(v);
  return v === null || v === undefined ? "" : String(v);
}

async function tabDiag(id, _cfg, body) {
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

// ---------------------------------------------------------------- northbounds

/** The password cell of a northbound as the API answers it (never the password itself). */
const WITHHELD = "*withheld*";

function northBroker(st) {
  if (!st || st.broker_connected === null || st.broker_connected === undefined) return "—";
  return st.broker_connected ? "connected" : "disconnected";
}

async function northAction(id, verb) {
  try {
    if (verb === "remove") {
      if (!(await confirmDialog(`Remove northbound ${id}? Its app is stopped.`))) return false;
      await api("DELETE", `/api/northbounds/${encodeURIComponent(id)}`);
      toast(`${id} removed`);
    } else {
      await api("POST", `/api/northbounds/${encodeURIComponent(id)}/${verb}`);
      toast(`${id} ${verb}d`);
    }
    return true;
  } catch (e) {
    toast(e.message, "bad");
    return false;
  }
}

async function pageNorthbounds() {
  const tbody = h("tbody");
  const err = h("div");
  const cols = [
    "Northbound",
    "Kind",
    "Brokers",
    "Enabled",
    "State",
    "Reason",
    "Broker",
    "Buffered",
    "Dropped",
    "Msgs/s",
    "Last error",
    "",
  ];
  setMain(
    h(
      "div",
      { class: "toolbar" },
      h("h1", {}, "Northbound"),
      h("a", { class: "button", href: "#/north-new", id: "add-north" }, "Add northbound"),
    ),
    err,
    h(
      "table",
      { id: "north-table" },
      h("thead", {}, h("tr", {}, ...cols.map((t) => h("th", {}, t)))),
      tbody,
    ),
  );
  async function refresh() {
    let data;
    try {
      data = await api("GET", "/api/northbounds");
      err.replaceChildren();
    } catch (e) {
      if (e.status !== 401) err.replaceChildren(errorBox(e));
      return;
    }
    tbody.replaceChildren(
      ...data.northbounds.map((n) => {
        const st = n.status ?? {};
        return h(
          "tr",
          { "data-north": n.north_id },
          h("td", {}, h("a", { href: `#/north/${encodeURIComponent(n.north_id)}` }, n.north_id)),
          h("td", {}, n.kind === "sparkplug" ? `sparkplug ${n.group_id ?? ""}` : n.kind),
          h("td", {}, n.broker_urls),
          h("td", {}, n.enabled ? "yes" : "no"),
          h(
            "td",
            { class: "state" },
            n.enabled ? stateBadge(st) : h("span", { class: "badge" }, "disabled"),
          ),
          h("td", { class: "muted" }, st.reason ?? ""),
          h("td", { class: "broker" }, northBroker(st)),
          h("td", { class: "buffered" }, fmtValue(st.buffered)),
          h("td", {}, fmtValue(st.dropped)),
          h("td", {}, fmtValue(st.msgs_per_s)),
          h("td", { class: "muted" }, st.last_error ? st.last_error.message : ""),
          h(
            "td",
            { class: "actions" },
            h(
              "button",
              {
                type: "button",
                onclick: () =>
                  northAction(n.north_id, n.enabled ? "disable" : "enable").then(refresh),
              },
              n.enabled ? "Disable" : "Enable",
            ),
            h(
              "button",
              {
                type: "button",
                class: "danger",
                onclick: () => northAction(n.north_id, "remove").then(refresh),
              },
              "Remove",
            ),
          ),
        );
      }),
    );
    if (data.northbounds.length === 0) {
      tbody.append(
        h("tr", {}, h("td", { colspan: cols.length, class: "muted" }, "No northbounds yet.")),
      );
    }
  }
  await refresh();
  const t = setInterval(refresh, 2000);
  onCleanup(() => clearInterval(t));
}

/** The form of one northbound (fields from /api/schema; kind-specific fields follow the kind). */
async function northForm(existing) {
  const { fields: allFields, northKindFields } = await schemaInfo();
  const fields = allFields.northbound;
  const form = h("form", { id: "north-form", class: "card grid-form" });
  const rows = fields.map((f) => {
    const secret = f.name === "password";
    const value = existing ? existing[f.name] : undefined;
    const input = fieldInput(f, secret ? "" : value, {
      disabled: existing && f.name === "north_id" ? true : null,
      type: secret ? "password" : undefined,
      placeholder: secret && value === WITHHELD ? "(stored; leave empty to keep)" : null,
      autocomplete: secret ? "new-password" : null,
    });
    return h("label", { class: "field", "data-row": f.name }, h("span", {}, f.name), input);
  });
  const status = h("div", { class: "form-status" });
  form.append(
    ...rows,
    h(
      "div",
      { class: "buttons" },
      h("button", { type: "submit", id: "north-save" }, existing ? "Save" : "Add northbound"),
    ),
    status,
  );
  const kindInput = form.querySelector('[data-field="kind"]');
  const applyKind = () => {
    for (const r of rows) {
      const only = northKindFields[r.dataset.row];
      r.hidden = Boolean(only && !only.includes(kindInput.value));
    }
  };
  kindInput.addEventListener("change", applyKind);
  applyKind();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const body = {};
    for (const f of fields) {
      const only = northKindFields[f.name];
      if (only && !only.includes(kindInput.value)) {
        if (f.nullable) body[f.name] = null;
        continue;
      }
      const v = parseInput(f, form.querySelector(`[data-field="${f.name}"]`));
      // an empty password field keeps the stored password
      if (f.name === "password" && existing && (v === null || v === undefined)) continue;
      if (v !== undefined) body[f.name] = v;
    }
    try {
      if (existing) {
        const r = await api(
          "PUT",
          `/api/northbounds/${encodeURIComponent(existing.north_id)}`,
          body,
        );
        const kind = r.changes[0]?.kind;
        const what =
          kind === "restart"
            ? " (the app restarts: new MQTT session)"
            : kind === "reload"
              ? " (hot reload)"
              : "";
        toast(`${existing.north_id} saved${what}`);
        status.replaceChildren(h("p", { class: "ok" }, `Saved${what}.`));
      } else {
        await api("POST", "/api/northbounds", body);
        toast(`${body.north_id} added`);
        location.hash = `#/north/${encodeURIComponent(body.north_id)}`;
      }
    } catch (e) {
      for (const i of e.data?.error?.issues ?? []) {
        if (i.entity === "northbound") showFieldError(form, i.field, i.message);
      }
      status.replaceChildren(errorBox(e));
    }
  });
  return form;
}

async function pageNewNorthbound() {
  setMain(h("h1", {}, "Add northbound"), await northForm(null));
}

/** One northbound: its health (refreshed every 2 s) and its settings. */
async function pageNorthbound(id) {
  let n;
  try {
    n = (await api("GET", `/api/northbounds/${encodeURIComponent(id)}`)).northbound;
  } catch (e) {
    setMain(errorBox(e));
    return;
  }
  const badge = h("span", { id: "north-state" }, stateBadge(n.status));
  const health = h("div", { id: "north-health" });
  const showHealth = (st) => {
    badge.replaceChildren(stateBadge(st));
    health.replaceChildren(
      renderHealth({
        state: st.state,
        reason: st.reason ?? "",
        broker: northBroker(st),
        buffered: st.buffered,
        oldest_buffered: st.oldest_buffered_age_ms ? fmtAge(st.oldest_buffered_age_ms) : "—",
        dropped: st.dropped,
        msgs_per_s: st.msgs_per_s,
        bus_gaps: st.bus_gaps,
        service: st.service,
        pid: st.pid,
        uptime: fmtAge(st.uptime_ms),
        restarts: st.restarts,
        last_error: st.last_error
          ? `${fmtDateTime(st.last_error.at)} ${st.last_error.message}`
          : "none",
      }),
    );
  };
  setMain(
    h(
      "div",
      { class: "toolbar" },
      h("h1", {}, id, " ", badge),
      h("span", { class: "muted" }, `${n.kind} ${n.broker_urls}`),
      n.enabled ? null : h("span", { class: "badge" }, "disabled"),
    ),
    h("h2", {}, "Health"),
    health,
    h("h2", {}, "Settings"),
    await northForm(n),
    h(
      "div",
      { class: "buttons" },
      h(
        "button",
        {
          type: "button",
          onclick: () => northAction(id, n.enabled ? "disable" : "enable").then(route),
        },
        n.enabled ? "Disable" : "Enable",
      ),
      h(
        "button",
        {
          type: "button",
          class: "danger",
          onclick: async () => {
            if (await northAction(id, "remove")) location.hash = "#/north";
          },
        },
        "Remove northbound",
      ),
    ),
  );
  showHealth(n.status ?? {});
  const t = setInterval(async () => {
    try {
      showHealth(
        (await api("GET", `/api/northbounds/${encodeURIComponent(id)}`)).northbound.status ?? {},
      );
    } catch {
      // shown at the next successful refresh
    }
  }, 2000);
  onCleanup(() => clearInterval(t));
}

// ---------------------------------------------------------------- CSV import / export

function pageCsv() {
  const files = h("input", {
    type: "file",
    id: "csv-files",
    multiple: true,
    accept: ".csv,text/csv",
  });
  const dry = h("input", { type: "checkbox", id: "csv-dry" });
  const replace = h("input", { type: "checkbox", id: "csv-replace" });
  const out = h("div", { id: "import-result" });
  const form = h(
    "form",
    { id: "import-form", class: "card" },
    h("h2", {}, "Import"),
    h(
      "p",
      { class: "muted" },
      "Choose connections.csv and, optionally, devices.csv, blocks.csv and tags.csv, and/or northbound.csv (docs/csv.md, installed in /usr/share/doc/nodi-edge/csv.md). All or nothing: any error changes nothing.",
    ),
    h("label", {}, "Files ", files),
    h("label", {}, dry, " validate only (dry run)"),
    h("label", {}, replace, " mirror: remove connections not in the file"),
    h("div", { class: "buttons" }, h("button", { type: "submit", id: "import-go" }, "Import")),
    out,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    out.replaceChildren(h("p", { class: "muted" }, "importing…"));
    const fd = new FormData();
    for (const f of files.files) fd.append(f.name, f, f.name);
    const q = [dry.checked ? "dry_run=1" : "", replace.checked ? "replace=1" : ""]
      .filter(Boolean)
      .join("&");
    try {
      const r = await api("POST", `/api/import${q ? `?${q}` : ""}`, fd);
      out.replaceChildren(
        h(
          "p",
          { class: "ok", id: "import-ok" },
          `${r.dry_run ? "Valid (dry run, nothing written)" : "Imported"}: ${r.counts.connections} connections, ${r.counts.blocks} blocks, ${r.counts.tags} tags.`,
        ),
        h("ul", {}, ...r.changes.map((c) => h("li", {}, `${c.conn_id}: ${c.kind} (${c.stored})`))),
      );
    } catch (e) {
      const errors = e.data?.error?.errors;
      out.replaceChildren(
        h(
          "p",
          { class: "bad", id: "import-refused" },
          errors ? `Import refused, nothing was changed: ${errors.length} error(s).` : e.message,
        ),
        errors
          ? h(
              "table",
              { id: "import-errors" },
              h(
                "thead",
                {},
                h(
                  "tr",
                  {},
                  ...["File", "Line", "Column", "Field", "Message"].map((x) => h("th", {}, x)),
                ),
              ),
              h(
                "tbody",
                {},
                ...errors.map((x) =>
                  h(
                    "tr",
                    {},
                    h("td", {}, x.file),
                    h("td", { class: "num" }, x.line || ""),
                    h("td", { class: "num" }, x.column || ""),
                    h("td", {}, x.field ?? ""),
                    h("td", {}, x.message),
                  ),
                ),
              ),
            )
          : e.data?.error?.issues
            ? errorBox(e)
            : null,
      );
    }
  });
  setMain(
    h("h1", {}, "Import / export"),
    form,
    h(
      "div",
      { class: "card" },
      h("h2", {}, "Export"),
      h("p", { class: "muted" }, "The whole configuration as the three CSV files."),
      h(
        "div",
        { class: "buttons" },
        ...["connections", "devices", "blocks", "tags", "northbound"].map((k) =>
          h(
            "a",
            { class: "button secondary", href: `/api/export?file=${k}`, download: `${k}.csv` },
            `${k}.csv`,
          ),
        ),
      ),
    ),
  );
}

// ---------------------------------------------------------------- audit, account

async function pageAudit() {
  const d = await api("GET", "/api/audit?limit=200");
  setMain(
    h("h1", {}, "Audit trail"),
    h(
      "table",
      { id: "audit-table" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...["When", "Who", "What", "Target", "Result", "Details"].map((x) => h("th", {}, x)),
        ),
      ),
      h(
        "tbody",
        {},
        ...d.entries.map((e) =>
          h(
            "tr",
            {},
            h("td", {}, fmtDateTime(e.ts)),
            h("td", {}, e.actor),
            h("td", {}, e.action),
            h("td", {}, e.target),
            h("td", { class: e.ok ? "ok" : "bad" }, e.ok ? "ok" : "failed"),
            h("td", { class: "detail" }, JSON.stringify(e.detail)),
          ),
        ),
      ),
    ),
  );
}

async function pageAccount() {
  const tokens = await api("GET", "/api/tokens");
  const pw = h(
    "form",
    { class: "card narrow", id: "password-form" },
    h("h2", {}, `Password of ${state.user}`),
    h(
      "label",
      {},
      "Current",
      h("input", { name: "current", type: "password", autocomplete: "current-password" }),
    ),
    h(
      "label",
      {},
      "New (8+ characters)",
      h("input", { name: "new", type: "password", autocomplete: "new-password" }),
    ),
    h("button", { type: "submit" }, "Change password"),
  );
  pw.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("POST", "/api/password", { current: pw.current.value, new: pw.new.value });
      toast("Password changed; log in again");
      showLogin(false);
    } catch (e) {
      clearErrors(pw);
      pw.append(errorBox(e));
    }
  });
  const shown = h("div");
  const tokForm = h(
    "form",
    { class: "card", id: "token-form" },
    h("h2", {}, "API tokens"),
    h(
      "p",
      { class: "muted" },
      "For scripts: send Authorization: Bearer TOKEN (docs/api.md). A token is shown once.",
    ),
    h("label", {}, "Name ", h("input", { name: "name", placeholder: "e.g. historian" })),
    h("button", { type: "submit" }, "Create token"),
    shown,
    h(
      "table",
      {},
      h(
        "thead",
        {},
        h("tr", {}, ...["Name", "User", "Created", "Last used", ""].map((x) => h("th", {}, x))),
      ),
      h(
        "tbody",
        {},
        ...tokens.tokens.map((t) =>
          h(
            "tr",
            {},
            h("td", {}, t.name),
            h("td", {}, t.username),
            h("td", {}, fmtDateTime(t.created_at)),
            h("td", {}, t.last_used_at ? fmtDateTime(t.last_used_at) : "never"),
            h(
              "td",
              {},
              h(
                "button",
                {
                  type: "button",
                  class: "danger",
                  onclick: async () => {
                    await api("DELETE", `/api/tokens/${encodeURIComponent(t.name)}`);
                    route();
                  },
                },
                "Revoke",
              ),
            ),
          ),
        ),
      ),
    ),
  );
  tokForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await api("POST", "/api/tokens", { name: tokForm.name.value });
      await pageAccount();
      $("#token-form div").replaceChildren(
        h("p", { class: "ok" }, "Copy it now: ", h("code", { id: "new-token" }, r.token)),
      );
    } catch (e) {
      shown.replaceChildren(errorBox(e));
    }
  });
  setMain(h("h1", {}, "Account"), pw, tokForm);
}

// ---------------------------------------------------------------- routing

async function route() {
  cleanup();
  if (!state.user) return;
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  try {
    if (parts[0] === "" || parts[0] === undefined) await pageConnections();
    else if (parts[0] === "new") await pageNewConnection();
    else if (parts[0] === "conn" && parts[1]) await pageConnection(parts[1], parts[2] ?? "live");
    else if (parts[0] === "north") {
      if (parts[1]) await pageNorthbound(parts[1]);
      else await pageNorthbounds();
    } else if (parts[0] === "north-new") await pageNewNorthbound();
    else if (parts[0] === "csv") pageCsv();
    else if (parts[0] === "audit") await pageAudit();
    else if (parts[0] === "account") await pageAccount();
    else setMain(h("p", {}, "Not found. ", h("a", { href: "#/" }, "Connections")));
  } catch (e) {
    if (e.status !== 401) setMain(errorBox(e));
  }
  for (const a of document.querySelectorAll("#nav a")) {
    a.classList.toggle(
      "active",
      a.getAttribute("href") ===
        `#/${parts[0] === "conn" ? "" : parts[0] === "north-new" ? "north" : (parts[0] ?? "")}`,
    );
  }
}

async function start() {
  $("#logout").addEventListener("click", async () => {
    try {
      await api("POST", "/api/logout");
    } finally {
      state.user = null;
      state.csrf = null;
      showLogin(false);
    }
  });
  window.addEventListener("hashchange", route);
  try {
    const s = await api("GET", "/api/session");
    state.user = s.username;
    state.csrf = s.csrf;
    enterApp();
  } catch (e) {
    showLogin(Boolean(e.data?.setup));
  }
}

start();
