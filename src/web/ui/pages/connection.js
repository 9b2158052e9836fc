// One connection (#/conn/ID/TAB): header, tabs, the tab's module.
import { errorBox, stateBadge } from "../components/feedback.js";
import { api } from "../core/api.js";
import { h, setMain } from "../core/dom.js";
import { addressOf } from "../core/format.js";
import { t } from "../core/i18n.js";
import { tabDiag } from "./conn-diag.js";
import { tabLive } from "./conn-live.js";
import { tabBlocks, tabDevices, tabSettings, tabTags } from "./conn-tables.js";

export const TABS = [
  ["live", "tab.live"],
  ["devices", "tab.devices"],
  ["blocks", "tab.blocks"],
  ["tags", "tab.tags"],
  ["settings", "tab.settings"],
  ["diag", "tab.diag"],
];

export async function pageConnection(id, tab) {
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
    cfg.connection.enabled ? null : h("span", { class: "badge" }, t("common.disabled")),
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
          t(label),
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
