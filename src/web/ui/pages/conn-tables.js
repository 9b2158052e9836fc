// Devices, Blocks, Tags and Settings tabs of one connection.
import { tableEditor } from "../components/table-editor.js";
import { h } from "../core/dom.js";
import { schema } from "../core/fields.js";
import { t } from "../core/i18n.js";
import { route } from "../core/router.js";
import { connectionForm } from "./connection-form.js";
import { removeConnection, toggleEnabled } from "./connections.js";

export async function tabDevices(id, cfg, body) {
  const fields = (await schema()).device;
  body.append(
    h("p", { class: "muted" }, t("devices.help", { unit: cfg.connection.unit_id ?? "?" })),
    tableEditor({
      id,
      entity: "device",
      rows: cfg.devices ?? [],
      keyField: "device",
      fields,
      title: t("tab.devices"),
      urlOf: (k) => `/api/connections/${encodeURIComponent(id)}/devices/${encodeURIComponent(k)}`,
    }),
  );
}

export async function tabBlocks(id, cfg, body) {
  const fields = (await schema()).block;
  body.append(
    tableEditor({
      id,
      entity: "block",
      rows: cfg.blocks,
      keyField: "block_id",
      fields,
      title: t("tab.blocks"),
      urlOf: (k) => `/api/connections/${encodeURIComponent(id)}/blocks/${encodeURIComponent(k)}`,
    }),
  );
}

export async function tabTags(id, cfg, body) {
  const fields = (await schema()).tag;
  body.append(
    tableEditor({
      id,
      entity: "tag",
      rows: cfg.tags,
      keyField: "tag_name",
      fields,
      title: t("tab.tags"),
      urlOf: (k) => `/api/connections/${encodeURIComponent(id)}/tags/${encodeURIComponent(k)}`,
    }),
  );
}

export async function tabSettings(id, cfg, body) {
  body.append(
    await connectionForm(cfg.connection),
    h(
      "div",
      { class: "buttons" },
      h(
        "button",
        { type: "button", onclick: () => toggleEnabled(id, !cfg.connection.enabled).then(route) },
        cfg.connection.enabled ? t("common.disable") : t("common.enable"),
      ),
      h(
        "button",
        { type: "button", class: "danger", onclick: () => removeConnection(id) },
        t("conn.remove"),
      ),
    ),
  );
}
