// Device profiles (#/profiles, #/profile/NAME): a device type defined once (docs/csv.md,
// "Device profiles"); devices naming it are its instances. List, show, add (its CSV files),
// remove.
import { confirmDialog, errorBox, toast } from "../components/feedback.js";
import { api } from "../core/api.js";
import { h, setMain } from "../core/dom.js";

const enc = encodeURIComponent;

/** The instances of a profile as links to their connections. */
function instanceLinks(instances) {
  if (instances.length === 0) return h("span", { class: "muted" }, "none");
  return instances.flatMap((i, n) => [
    n > 0 ? ", " : "",
    h("a", { href: `#/conn/${enc(i.conn_id)}` }, `${i.conn_id}/${i.device}`),
    ` (unit ${i.unit_id})`,
  ]);
}

async function removeProfile(name) {
  if (!(await confirmDialog(`Remove profile ${name}?`, "Remove"))) return false;
  try {
    await api("DELETE", `/api/profiles/${enc(name)}`);
    toast(`${name} removed`);
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
    h("h2", {}, "Add or replace profiles"),
    h(
      "p",
      { class: "muted" },
      "Choose profiles.csv, profile_blocks.csv and profile_tags.csv (docs/csv.md, “Device profiles”; the shipped ones are in /usr/share/nodi-edge/profiles/). A changed profile hot-reloads every connection with an instance. All or nothing.",
    ),
    h("label", {}, "Files ", files),
    h("label", {}, dry, " validate only (dry run)"),
    h("div", { class: "buttons" }, h("button", { type: "submit", id: "profile-go" }, "Add")),
    out,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const fd = new FormData();
    for (const f of files.files) fd.append(f.name, f, f.name);
    out.replaceChildren(h("p", { class: "muted" }, "importing…"));
    try {
      const r = await api("POST", `/api/import${dry.checked ? "?dry_run=1" : ""}`, fd);
      out.replaceChildren(
        h(
          "p",
          { class: "ok", id: "profile-ok" },
          r.dry_run ? "Valid (dry run, nothing written)." : "Done.",
        ),
        h(
          "ul",
          {},
          ...(r.profile_changes ?? []).map((c) => h("li", {}, `profile ${c.profile}: ${c.stored}`)),
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
  const cols = ["Profile", "Blocks", "Tags", "Instances", "Description", ""];
  async function refresh() {
    const data = await api("GET", "/api/profiles");
    tbody.replaceChildren(
      ...data.profiles.map((p) =>
        h(
          "tr",
          { "data-profile": p.profile },
          h("td", {}, h("a", { href: `#/profile/${enc(p.profile)}` }, p.profile)),
          h("td", { class: "num" }, String(p.block_count)),
          h("td", { class: "num" }, String(p.tag_count)),
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
              "Remove",
            ),
          ),
        ),
      ),
    );
    if (data.profiles.length === 0) {
      tbody.append(
        h("tr", {}, h("td", { colspan: cols.length, class: "muted" }, "No profiles yet.")),
      );
    }
  }
  setMain(
    h("h1", {}, "Device profiles"),
    h(
      "p",
      { class: "muted" },
      "A profile is a device type (its blocks and tags) defined once; a device of a connection that names it is an instance: a name and a unit id. Make a device an instance on its connection's Devices tab or with nodi-edge device add … --profile NAME.",
    ),
    h(
      "table",
      { id: "profile-table" },
      h("thead", {}, h("tr", {}, ...cols.map((t) => h("th", {}, t)))),
      tbody,
    ),
    addCard(() => refresh()),
  );
  await refresh();
}

export async function pageProfile(name) {
  const p = await api("GET", `/api/profiles/${enc(name)}`);
  const table = (id, cols, rows) =>
    h(
      "table",
      { id },
      h("thead", {}, h("tr", {}, ...cols.map((c) => h("th", {}, c)))),
      h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c ?? ""))))),
    );
  setMain(
    h(
      "div",
      { class: "toolbar" },
      h("h1", {}, `Profile ${p.profile.profile}`),
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
        "Remove",
      ),
    ),
    h("p", {}, p.profile.description),
    h(
      "p",
      { class: "muted" },
      `Addresses ${p.profile.address_base === 1 ? "one-based" : "zero-based"}. Instances: `,
      instanceLinks(p.instances),
    ),
    h("h2", {}, `Blocks (${p.blocks.length})`),
    table(
      "profile-blocks",
      ["block_id", "table", "address", "count", "period_ms", "description"],
      p.blocks.map((b) => [
        b.block_id,
        b.table,
        String(b.address),
        String(b.count),
        b.period_ms === null ? "on demand" : String(b.period_ms),
        b.description,
      ]),
    ),
    h("h2", {}, `Tags (${p.tags.length})`),
    table(
      "profile-tags",
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
      p.tags.map((t) => [
        t.tag_name,
        t.block_id ?? `auto ${t.table ?? ""} ${t.scan_ms ?? ""} ms`,
        String(t.address) + (t.bit !== null && t.bit !== undefined ? `.${t.bit}` : ""),
        t.data_type,
        t.byte_order,
        String(t.scale),
        t.unit,
        t.access,
        t.description,
      ]),
    ),
  );
}
