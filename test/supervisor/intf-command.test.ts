import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { loadSettings } from "../../src/core/settings.ts";
import {
  intfCommand,
  isCompiled,
  northCommand,
  parentDeathPrefix,
} from "../../src/supervisor/intf-command.ts";
import { selectServiceManager } from "../../src/supervisor/select-manager.ts";

test("NE_INTF_CMD: JSON array or words; default runs src/intf/main.ts under bun", () => {
  expect(loadSettings({ NE_INTF_CMD: '["/opt/x y/ne-intf", "--flag"]' }).intfCmd).toEqual([
    "/opt/x y/ne-intf",
    "--flag",
  ]);
  expect(loadSettings({ NE_INTF_CMD: "/usr/bin/nodi-edge  ne-intf" }).intfCmd).toEqual([
    "/usr/bin/nodi-edge",
    "ne-intf",
  ]);
  expect(() => loadSettings({ NE_INTF_CMD: "[1]" })).toThrow(
    /NE_INTF_CMD: must be a JSON array of strings/,
  );
  expect(loadSettings({}).intfCmd).toBeUndefined();
  expect(loadSettings({}).reconcileIntervalMs).toBe(60_000);
  expect(() => loadSettings({ NE_RECONCILE_INTERVAL_MS: "5" })).toThrow(/NE_RECONCILE_INTERVAL_MS/);
  expect(isCompiled()).toBe(false);
  const cmd = intfCommand(undefined);
  expect(cmd[0]).toBe(process.execPath);
  expect(cmd[1]).toBe("run");
  expect(cmd[2]?.endsWith("/src/intf/main.ts")).toBe(true);
  expect(existsSync(cmd[2]!)).toBe(true);
  expect(intfCommand(["a", "b"])).toEqual(["a", "b"]);
  if (existsSync("/usr/bin/setpriv"))
    expect(parentDeathPrefix()).toEqual(["/usr/bin/setpriv", "--pdeathsig", "TERM", "--"]);
});

test("NE_NORTH_CMD: as NE_INTF_CMD; default runs src/north/main.ts under bun", () => {
  expect(loadSettings({ NE_NORTH_CMD: "/usr/bin/nodi-edge ne-north" }).northCmd).toEqual([
    "/usr/bin/nodi-edge",
    "ne-north",
  ]);
  expect(() => loadSettings({ NE_NORTH_CMD: '["x", 2]' })).toThrow(
    /NE_NORTH_CMD: must be a JSON array of strings/,
  );
  expect(loadSettings({}).northCmd).toBeUndefined();
  const cmd = northCommand(undefined);
  expect(cmd.slice(0, 2)).toEqual([process.execPath, "run"]);
  expect(cmd[2]?.endsWith("/src/north/main.ts")).toBe(true);
  expect(northCommand(["a"])).toEqual(["a"]);
});

test("the service manager is chosen from settings: auto = systemd only when /run/systemd/system exists", () => {
  const s = loadSettings({});
  expect(selectServiceManager(s, { systemdProbe: "/nonexistent" }).kind).toBe("process");
  expect(selectServiceManager(s, { systemdProbe: "/" }).kind).toBe("systemd");
  expect(
    selectServiceManager(loadSettings({ NE_SERVICE_MANAGER: "process" }), { systemdProbe: "/" })
      .kind,
  ).toBe("process");
  expect(
    selectServiceManager(loadSettings({ NE_SERVICE_MANAGER: "systemd" }), {
      systemdProbe: "/nonexistent",
    }).kind,
  ).toBe("systemd");
});
