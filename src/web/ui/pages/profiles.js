// Device profiles (#/profiles, #/profile/NAME): a device type defined once (docs/csv.md,
// "Device profiles"); devices naming it are its instances. List, show, add (its CSV files),
// remove.
import { confirmDialog, errorBox, toast } from "../components/feedback.js";
import { api } from "../core/api.js";
import { h, setMain } from "../core/dom.js";
import { fieldLabel, schemaInfo } from "../core/fields.js";
import { fmtNumber } from "../core/format.js";
import { t } from "../core/i18n.js";

const enc = encodeURIComponent;

/** The instances of a profile as links to their connections. */
function instanceLinks(instances) {
  if (instances.length === 0) return h("span", { class: "muted" }, t("common.none"));
  return instances.flatMap((i, n) => [
    n > 0 ? ", " : "",
    h("a", { href: `#/conn/${enc(i.conn_id)}` }, `${i.conn_id}/${i.device}`),
    ` ${t("profiles.unit", { unit: i.unit_id })}`,
  ]);
}

async function removeProfile(name) {
  if (!(await confirmDialog(t("profiles.removeConfirm", { name }), t("common.remove"))))
    return false;
  try {
    await api("DELETE", `/api/profiles/${enc(name)}`);
    toast(t("common.removedToast", { id: name }));
    return true;
  } catch (e) {
    toast(e.message, "bad");
    return false;
  }
}

/** The Add card: the profile's three CSV files, imported all or nothing. */
function addCard(onDone) {
  const files = h("input", {
    type: "file",
    id: "profile-files",
    multiple: true,
    accept: ".csv,text/csv",
  });
  const dry = h("input", { type: "checkbox", id: "profile-dry" });
  const out = h("div", { id: "profile-result" });
  const form = h(
    "form",
    { id: "profile-form", class: "card" },
    h("h2", {}, t("profiles.addTitle")),
    h("p", { class: "muted" }, t("profiles.addHelp")),
    h("label", {}, `${t("profiles.files")} `, files),
    h("label", {}, dry, ` ${t("csv.dryRun")}`),
    h(
      "div",
      { class: "buttons" },
      h("button", { type: "submit", id: "profile-go" }, t("common.add")),
    ),
    out,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const fd = new FormData();
    for (const f of files.files) fd.append(f.name, f, f.name);
    out.replaceChildren(h("p", { class: "muted" }, t("csv.importing")));
    try {
      const r = await api("POST", `/api/import${dry.checked ? "?dry_run=1" : ""}`, fd);
      out.replaceChildren(
        h("p", { class: "ok", id: "profile-ok" }, r.dry_run ? t("csv.validDry") : t("csv.done")),
        h(
          "ul",
          {},
          ...(r.profile_changes ?? []).map((c) =>
            h("li", {}, t("profiles.change", { profile: c.profile, stored: c.stored })),
          ),
          ...r.changes.map((c) => h("li", {}, `${c.conn_id}: ${c.kind} (${c.stored})`)),
        ),
      );
      if (!r.dry_run) onDone();
    } catch (e) {
      const errors = e.data?.error?.errors;
      out.replaceChildren(
        errors
          ? h(
              "ul",
              { class: "bad", id: "profile-errors" },
              ...errors.map((x) =>
                h(
                  "li",
                  {},
                  `${x.file}:${x.line}${x.column ? `:${x.column}` : ""}${x.field ? ` (${x.field})` : ""}: ${x.message}`,
                ),
              ),
            )
          : errorBox(e),
      );
    }
  });
  return form;
}

export async function pageProfiles() {
  const tbody = h("tbody");
  const cols = [
    "profiles.col.profile",
    "tab.blocks",
    "tab.tags",
    "profiles.col.instances",
    "profiles.col.description",
    "",
  ];
  async function refresh() {
    const data = await api("GET", "/api/profiles");
    tbody.replaceChildren(
      ...data.profiles.map((p) =>
        h(
          "tr",
          { "data-profile": p.profile },
          h("td", {}, h("a", { href: `#/profile/${enc(p.profile)}` }, p.profile)),
          h("td", { class: "num" }, fmtNumber(p.block_count)),
          h("td", { class: "num" }, fmtNumber(p.tag_count)),
          h("td", {}, instanceLinks(p.instances)),
          h("td", { class: "muted" }, p.description),
          h(
            "td",
            { class: "actions" },
            h(
              "button",
              {
                type: "button",
                class: "danger",
                onclick: () => removeProfile(p.profile).then((ok) => ok && refresh()),
              },
              t("common.remove"),
            ),
          ),
        ),
      ),
    );
    if (data.profiles.length === 0) {
      tbody.append(
        h("tr", {}, h("td", { colspan: cols.length, class: "muted" }, t("profiles.none"))),
      );
    }
  }
  setMain(
    h("h1", {}, t("profiles.title")),
    h("p", { class: "muted" }, t("profiles.help")),
    h(
      "table",
      { id: "profile-table" },
      h("thead", {}, h("tr", {}, ...cols.map((k) => h("th", {}, k ? t(k) : "")))),
      tbody,
    ),
    addCard(() => refresh()),
  );
  await refresh();
}

export async function pageProfile(name) {
  const p = await api("GET", `/api/profiles/${enc(name)}`);
  await schemaInfo();
  // column headers: the field's human label (field text), its name in the tooltip
  const table = (id, entity, cols, rows) =>
    h(
      "table",
      { id },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...cols.map((c) => h("th", { title: c }, fieldLabel(entity, { name: c }).label)),
        ),
      ),
      h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c ?? ""))))),
    );
  setMain(
    h(
      "div",
      { class: "toolbar" },
      h("h1", {}, t("profiles.one", { name: p.profile.profile })),
      h(
        "button",
        {
          type: "button",
          class: "danger",
          id: "profile-remove",
          onclick: async () => {
            if (await removeProfile(name)) location.hash = "#/profiles";
          },
        },
        t("common.remove"),
      ),
    ),
    h("p", {}, p.profile.description),
    h(
      "p",
      { class: "muted" },
      `${t(p.profile.address_base === 1 ? "profiles.oneBased" : "profiles.zeroBased")} ${t("profiles.instances")} `,
      instanceLinks(p.instances),
    ),
    h("h2", {}, `${t("tab.blocks")} (${fmtNumber(p.blocks.length)})`),
    table(
      "profile-blocks",
      "block",
      ["block_id", "table", "address", "count", "period_ms", "description"],
      p.blocks.map((b) => [
        b.block_id,
        b.table,
        String(b.address),
        String(b.count),
        b.period_ms === null ? t("profiles.onDemand") : String(b.period_ms),
        b.description,
      ]),
    ),
    h("h2", {}, `${t("tab.tags")} (${fmtNumber(p.tags.length)})`),
    table(
      "profile-tags",
      "tag",
      [
        "tag_name",
        "block_id",
        "address",
        "data_type",
        "byte_order",
        "scale",
        "unit",
        "access",
        "description",
      ],
      p.tags.map((g) => [
        g.tag_name,
        g.block_id ?? `${t("profiles.auto")} ${g.table ?? ""} ${g.scan_ms ?? ""} ms`,
        String(g.address) + (g.bit !== null && g.bit !== undefined ? `.${g.bit}` : ""),
        g.data_type,
        g.byte_order,
        String(g.scale),
        g.unit,
        g.access,
        g.description,
      ]),
    ),
  );
}
