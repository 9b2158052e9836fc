// One northbound (#/north/ID) and Add northbound (#/north-new).
import { errorBox, stateBadge, toast } from "../components/feedback.js";
import { renderHealth } from "../components/health.js";
import { api } from "../core/api.js";
import { h, onCleanup, setMain } from "../core/dom.js";
import {
  clearErrors,
  fieldInput,
  fieldRow,
  parseInput,
  schemaInfo,
  showFieldError,
} from "../core/fields.js";
import { fmtAge, fmtDateTime } from "../core/format.js";
import { t } from "../core/i18n.js";
import { route } from "../core/router.js";
import { northAction, northBroker, WITHHELD } from "./northbounds.js";

/** The form of one northbound (fields from /api/schema; kind-specific fields follow the kind). */
export async function northForm(existing) {
  const { fields: allFields, northKindFields } = await schemaInfo();
  const fields = allFields.northbound;
  const form = h("form", { id: "north-form", class: "card grid-form" });
  const rows = fields.map((f) => {
    const secret = f.name === "password";
    const value = existing ? existing[f.name] : undefined;
    const input = fieldInput(f, secret ? "" : value, {
      disabled: existing && f.name === "north_id" ? true : null,
      type: secret ? "password" : undefined,
      placeholder: secret && value === WITHHELD ? t("north.passwordKept") : null,
      autocomplete: secret ? "new-password" : null,
    });
    return fieldRow("northbound", f, input);
  });
  const status = h("div", { class: "form-status" });
  form.append(
    ...rows,
    h(
      "div",
      { class: "buttons" },
      h(
        "button",
        { type: "submit", id: "north-save" },
        existing ? t("common.save") : t("north.add"),
      ),
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
            ? ` ${t("north.restarts")}`
            : kind === "reload"
              ? ` ${t("north.hotReload")}`
              : "";
        toast(`${t("common.savedToast", { id: existing.north_id })}${what}`);
        status.replaceChildren(h("p", { class: "ok" }, t("north.saved", { what })));
      } else {
        await api("POST", "/api/northbounds", body);
        toast(t("common.addedToast", { id: body.north_id }));
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

export async function pageNewNorthbound() {
  setMain(h("h1", {}, t("north.add")), await northForm(null));
}

/** One northbound: its health (refreshed every 2 s) and its settings. */
export async function pageNorthbound(id) {
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
      // rows labelled in the UI's language (renderHealth shows the keys as they are)
      renderHealth({
        [t("conn.col.state")]: st.state,
        [t("conn.col.reason")]: st.reason ?? "",
        [t("north.col.broker")]: northBroker(st),
        [t("north.col.buffered")]: st.buffered,
        [t("north.h.oldest")]: st.oldest_buffered_age_ms ? fmtAge(st.oldest_buffered_age_ms) : "—",
        [t("north.col.dropped")]: st.dropped,
        [t("north.col.rate")]: st.msgs_per_s,
        [t("north.h.busGaps")]: st.bus_gaps,
        [t("diag.service")]: st.service,
        [t("diag.pid")]: st.pid,
        [t("diag.runningFor")]: fmtAge(st.uptime_ms),
        [t("conn.col.restarts")]: st.restarts,
        [t("north.col.lastError")]: st.last_error
          ? `${fmtDateTime(st.last_error.at)} ${st.last_error.message}`
          : t("common.none"),
      }),
    );
  };
  setMain(
    h(
      "div",
      { class: "toolbar" },
      h("h1", {}, id, " ", badge),
      h("span", { class: "muted" }, `${n.kind} ${n.broker_urls}`),
      n.enabled ? null : h("span", { class: "badge" }, t("common.disabled")),
    ),
    h("h2", {}, t("north.health")),
    health,
    h("h2", {}, t("tab.settings")),
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
        n.enabled ? t("common.disable") : t("common.enable"),
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
        t("north.remove"),
      ),
    ),
  );
  showHealth(n.status ?? {});
  const timer = setInterval(async () => {
    try {
      showHealth(
        (await api("GET", `/api/northbounds/${encodeURIComponent(id)}`)).northbound.status ?? {},
      );
    } catch {
      // shown at the next successful refresh
    }
  }, 2000);
  onCleanup(() => clearInterval(timer));
}
