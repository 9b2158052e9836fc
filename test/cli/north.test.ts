import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BusFactory } from "../../src/cli/context.ts";
import type { TagSample } from "../../src/core/tag-value.ts";
import { runCli } from "../support/run-cli.ts";
import { tempDir } from "../support/tmp.ts";

const dir = tempDir("ne-cli-north-");
afterAll(() => dir.cleanup());
const db = join(dir.path, "c.db");

/** Every system tag the CLI announced, as `path=value`. */
const published: string[] = [];
const recordingBus: BusFactory = async () => ({
  publish: async (samples: readonly TagSample[]) => {
    for (const s of samples) {
      published.push(`${s.path}=${s.path.endsWith("config_reload") ? "ts" : s.value}`);
    }
  },
  close: async () => true,
});
function run(...argv: string[]) {
  return runCli(["--db", db, ...argv], { busFactory: recordingBus });
}
const announced = () => published.splice(0);

test("north add / show / list: the password is never printed, in text or JSON", async () => {
  const pw = join(dir.path, "pw.txt");
  writeFileSync(pw, "top-secret\n");
  const add = await run(
    "north",
    "add",
    "cloud",
    "kind=mqtt",
    "broker_urls=mqtt://10.0.0.5:1883",
    "--username",
    "edge",
    "--password-file",
    pw,
  );
  expect(add.err).toBe("");
  expect(add.code).toBe(0);
  expect(add.out).toBe("cloud  added (created)\n");
  expect(announced()).toEqual(["/system/supervisor/north_added=cloud"]);

  const show = await run("north", "show", "cloud");
  expect(show.code).toBe(0);
  expect(show.out).toContain("broker_urls: mqtt://10.0.0.5:1883\n");
  expect(show.out).toContain("username: edge\n");
  expect(show.out).toContain("password: *withheld*\n");
  const showJson = await run("--json", "north", "show", "cloud");
  expect(JSON.parse(showJson.out)).toMatchObject({ north_id: "cloud", password: "*withheld*" });
  const list = await run("north", "list");
  expect(list.out).toBe(
    "north_id  kind  brokers               tags  enabled  description\ncloud     mqtt  mqtt://10.0.0.5:1883  /**   yes\n",
  );
  const listJson = await run("--json", "north", "list");
  expect(JSON.parse(listJson.out)).toMatchObject([{ north_id: "cloud", password: "*withheld*" }]);
  for (const r of [add, show, showJson, list, listJson]) expect(r.out).not.toContain("top-secret");
});

test("north add --update: a publishing option is a reload, a broker change a restart; both announced as config_reload", async () => {
  const sel = await run("north", "add", "cloud", "--update", "tag_selection=/plc1/*");
  expect(sel.out).toBe("cloud  reload (updated)\n");
  expect(announced()).toEqual(["/system/cloud/config_reload=ts"]);
  const url = await run("north", "add", "cloud", "--update", "--broker-urls", "mqtts://b:8883");
  expect(url.out).toBe("cloud  restart (updated)\n");
  expect(announced()).toEqual(["/system/cloud/config_reload=ts"]);
  const again = await run("north", "add", "cloud");
  expect(again.code).toBe(65);
  expect(again.err).toContain('northbound "cloud" exists; use --update');
});

test("bad input: refused with the field and rule, nothing stored, nothing announced", async () => {
  const bad = await run("north", "add", "spb", "kind=sparkplug", "broker_urls=mqtt://b");
  expect(bad.code).toBe(65);
  expect(bad.err).toContain(
    "northbound spb (group_id): group_id is required for kind sparkplug, got empty",
  );
  const clash = await run(
    "conn",
    "add",
    "cloud",
    "protocol=modbus-tcp",
    "host=h",
    "port=502",
    "unit_id=1",
  );
  expect(clash.code).toBe(65);
  expect(clash.err).toContain(`conn_id "cloud" is already a northbound's north_id`);
  const secret = await run(
    "north",
    "add",
    "x",
    "kind=mqtt",
    "broker_urls=mqtt://b",
    "pasword=hunter2",
  );
  expect(secret.code).toBe(65);
  expect(secret.err).toContain('got "pasword=…"');
  expect(secret.err).not.toContain("hunter2");
  expect(announced()).toEqual([]);
  expect(JSON.parse((await run("--json", "north", "list")).out)).toHaveLength(1);
  expect((await run("north", "show", "nope")).code).toBe(66);
});

test("north disable / enable / rm announce north_removed and north_added", async () => {
  const off = await run("north", "disable", "cloud");
  expect(off.out).toBe("cloud disabled (its app will be stopped)\n");
  expect(announced()).toEqual(["/system/supervisor/north_removed=cloud"]);
  expect((await run("north", "disable", "cloud")).out).toBe("cloud already disabled\n");
  expect(announced()).toEqual([]);
  const on = await run("north", "enable", "cloud");
  expect(on.out).toBe("cloud enabled (its app will be started)\n");
  expect(announced()).toEqual(["/system/supervisor/north_added=cloud"]);
  const rm = await run("--json", "north", "rm", "cloud");
  expect(JSON.parse(rm.out)).toMatchObject({
    ok: true,
    changes: [{ north_id: "cloud", kind: "removed", stored: "deleted" }],
    notified: true,
  });
  expect(announced()).toEqual(["/system/supervisor/north_removed=cloud"]);
  expect((await run("north", "list")).out).toBe("no northbounds\n");
  expect((await run("north", "rm", "cloud")).code).toBe(66);
});

test("north show of a Sparkplug northbound leaves out the plain-MQTT fields it never uses (no qos: 1)", async () => {
  const add = await run(
    "north",
    "add",
    "spb-show",
    "kind=sparkplug",
    "broker_urls=mqtt://127.0.0.1:1883",
    "group_id=plant-a",
  );
  expect(add.code).toBe(0);
  const show = await run("north", "show", "spb-show");
  expect(show.code).toBe(0);
  const keys = show.out
    .trim()
    .split("\n")
    .map((l) => l.split(":")[0]);
  expect(keys).toContain("group_id");
  for (const k of ["topic_template", "qos", "retain", "payload_layout"]) {
    expect(keys).not.toContain(k);
  }
  // --json is the stored row, every field
  const json = JSON.parse((await run("--json", "north", "show", "spb-show")).out);
  expect(json).toMatchObject({ kind: "sparkplug", qos: 1, payload_layout: "tag" });
  // a plain MQTT northbound shows them
  await run("north", "add", "mqtt-show", "kind=mqtt", "broker_urls=mqtt://127.0.0.1:1883");
  const plain = (await run("north", "show", "mqtt-show")).out;
  expect(plain).toContain("qos: 1\n");
  expect(plain).toContain("payload_layout: tag");
  announced();
});

test("north add with a TLS file that does not exist: stored (it may be deployed later), with a warning naming field and path", async () => {
  const add = await run(
    "north",
    "add",
    "tlsnb",
    "kind=mqtt",
    "broker_urls=mqtts://10.0.0.5:8883",
    "tls_ca_file=/nonexistent/ca.pem",
  );
  expect(add.code).toBe(0);
  expect(add.out).toBe("tlsnb  added (created)\n");
  expect(add.err).toBe(
    "warning: northbound tlsnb: tls_ca_file /nonexistent/ca.pem cannot be read: ENOENT; ne-north will not start until it is fixed (exit 78)\n",
  );
  announced();
});
