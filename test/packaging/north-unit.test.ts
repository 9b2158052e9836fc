import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FILES } from "../../packaging/build-deb.ts";

// ne-north@.service is run by the supervisor exactly like ne-intf@.service: same restart,
// exit-code and start-limit semantics, the same hardening (without the serial devices). The
// unit under real systemd is exercised by deb-systemd.test.ts.
const PKG = join(import.meta.dir, "../../packaging");
const unit = (name: string) => readFileSync(join(PKG, "systemd", name), "utf8");
/** `Key=Value` lines of a unit (repeated keys joined with `|`). */
function directives(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!m) continue;
    const prev = out.get(m[1]!);
    out.set(m[1]!, prev === undefined ? m[2]! : `${prev}|${m[2]}`);
  }
  return out;
}

test("ne-north@.service: ExecStart --north-id=%i, same restart/exit-code/limit and hardening directives as ne-intf@", () => {
  const north = directives(unit("ne-north@.service"));
  const intf = directives(unit("ne-intf@.service"));
  expect(north.get("ExecStart")).toBe("/usr/bin/ne-north --north-id=%i");
  // what differs, and why: the description and its documentation page, the program, serial
  // devices (dialout, tty*), the interface apps' runtime settings (src/supervisor/app-env.ts,
  // measured on them only)
  const differs = new Set([
    "Description",
    "Documentation",
    "ExecStart",
    "SupplementaryGroups",
    "DeviceAllow",
    "Environment",
  ]);
  expect(intf.get("Environment")).toStartWith(`${north.get("Environment")}|`);
  expect(north.get("Documentation")).toBe(
    "file:///usr/share/doc/nodi-edge/README.md file:///usr/share/doc/nodi-edge/north.md",
  );
  for (const [k, v] of intf) {
    if (differs.has(k)) continue;
    expect(`${k}=${north.get(k)}`).toBe(`${k}=${v}`);
  }
  expect(north.has("SupplementaryGroups")).toBe(false);
  expect(north.has("DeviceAllow")).toBe(false);
  expect(north.get("PrivateDevices")).toBe("yes"); // no device at all
});

test("the .deb ships ne-north@.service; mosquitto is a Suggests, not a dependency", () => {
  expect(FILES).toContainEqual([
    "systemd/ne-north@.service",
    "lib/systemd/system/ne-north@.service",
    0o644,
  ]);
  const control = readFileSync(join(PKG, "debian", "control"), "utf8");
  expect(control).toMatch(/^Suggests: mosquitto$/m);
  expect(/^Depends: .*$/m.exec(control)?.[0]).not.toContain("mosquitto");
});

test("the polkit rule lets nodi-edge manage ne-intf@ and ne-north@ instances, and nothing else", () => {
  type Rule = (
    action: { id: string; lookup(k: string): string },
    subject: { user: string },
  ) => string;
  let rule: Rule | undefined;
  const polkit = {
    Result: { YES: "yes", NOT_HANDLED: "not_handled" },
    addRule: (r: Rule) => {
      rule = r;
    },
  };
  new Function("polkit", readFileSync(join(PKG, "polkit", "50-nodi-edge.rules"), "utf8"))(polkit);
  const ask = (unitName: string, verb = "start", user = "nodi-edge") =>
    rule!(
      {
        id: "org.freedesktop.systemd1.manage-units",
        lookup: (k) => (k === "unit" ? unitName : verb),
      },
      { user },
    );
  expect(ask("ne-north@cloud.service")).toBe("yes");
  expect(ask("ne-north@cloud.service", "set-property")).toBe("yes");
  expect(ask("ne-intf@plc1.service", "stop")).toBe("yes");
  expect(ask("ne-north@cloud.service", "start", "alice")).toBe("not_handled");
  expect(ask("ne-web.service")).toBe("not_handled");
  expect(ask("ne-northx@cloud.service")).toBe("not_handled");
  expect(ask("ne-north@Cloud.service")).toBe("not_handled");
  expect(ask("ne-north@cloud.service", "enable")).toBe("not_handled");
});
