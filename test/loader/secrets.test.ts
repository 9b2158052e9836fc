import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  chownSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { ensurePkiRoot } from "../../src/drivers/opcua/pki.ts";
import { WITHHELD } from "../../src/loader/import.ts";
import { openStore } from "../../src/store/store.ts";
import { quietBus, runCli } from "../support/run-cli.ts";
import { tempDir } from "../support/tmp.ts";

// docs/security.md "Secrets": passwords are never shown, exported only when asked, and the
// files that hold them are the owner's alone.

const UA_PW = "s3cret-ua-password";
const MQTT_PW = "s3cret-broker-password";
const dir = tempDir("ne-secrets-");
const db = join(dir.path, "ne.db");
const env = { NE_DB: db };
const cli = (argv: string[]) => runCli(argv, { env, busFactory: quietBus });

beforeAll(async () => {
  const pwFile = join(dir.path, "broker.pw");
  writeFileSync(pwFile, `${MQTT_PW}\n`);
  for (const argv of [
    [
      "conn",
      "add",
      "ua1",
      "protocol=opcua",
      "endpoint_url=opc.tcp://10.0.0.9:4840",
      "username=operator",
      `password=${UA_PW}`,
    ],
    ["conn", "add", "mb1", "protocol=modbus-tcp", "host=10.0.0.5", "port=502", "unit_id=1"],
    [
      "north",
      "add",
      "cloud",
      "kind=mqtt",
      "broker_urls=mqtt://10.0.0.7:1883",
      "username=edge",
      "--password-file",
      pwFile,
    ],
  ]) {
    const r = await cli(argv);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
  }
});
afterAll(() => dir.cleanup());

const stored = () => {
  const s = openStore(db);
  try {
    return { ua: s.getConnection("ua1")?.password, mqtt: s.getNorthbound("cloud")?.password };
  } finally {
    s.close();
  }
};

describe("show never prints a password", () => {
  test("conn show (text and --json), conn list --json, north show", async () => {
    for (const argv of [
      ["conn", "show", "ua1"],
      ["--json", "conn", "show", "ua1"],
      ["--json", "conn", "list"],
      ["north", "show", "cloud"],
      ["--json", "north", "show", "cloud"],
      ["--json", "north", "list"],
    ]) {
      const r = await cli(argv);
      expect(r.code).toBe(0);
      expect(r.out + r.err).not.toContain(UA_PW);
      expect(r.out + r.err).not.toContain(MQTT_PW);
    }
    expect((await cli(["conn", "show", "ua1"])).out).toContain(`password: ${WITHHELD}`);
    const json = JSON.parse((await cli(["--json", "conn", "show", "ua1"])).out);
    expect(json.connection.password).toBe(WITHHELD);
    expect(json.connection.username).toBe("operator");
    // A connection without a password shows none (not a marker).
    const mb = JSON.parse((await cli(["--json", "conn", "show", "mb1"])).out);
    expect(mb.connection.password ?? null).toBeNull();
  });
});

describe("export", () => {
  test("without --include-secrets: every set password is *withheld*, none in clear", async () => {
    const out = join(dir.path, "plain");
    const r = await cli(["export", out]);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    for (const f of readdirSync(out)) {
      const text = readFileSync(join(out, f), "utf8");
      expect(text).not.toContain(UA_PW);
      expect(text).not.toContain(MQTT_PW);
    }
    expect(readFileSync(join(out, "connections.csv"), "utf8")).toContain(WITHHELD);
    expect(readFileSync(join(out, "northbound.csv"), "utf8")).toContain(WITHHELD);
  });

  test("export → import keeps the stored passwords (the marker means: keep it)", async () => {
    const out = join(dir.path, "roundtrip");
    expect((await cli(["export", out])).code).toBe(0);
    const r = await cli(["import", out]);
    expect(r.code).toBe(0);
    expect(stored()).toEqual({ ua: UA_PW, mqtt: MQTT_PW });
    // …also with --replace (a whole configuration put back).
    expect((await cli(["import", "--replace", out])).code).toBe(0);
    expect(stored()).toEqual({ ua: UA_PW, mqtt: MQTT_PW });
  });

  test("*withheld* for a connection with no stored password is a located error, nothing changed", async () => {
    const out = join(dir.path, "fresh");
    mkdirSync(out);
    writeFileSync(
      join(out, "connections.csv"),
      `conn_id,protocol,endpoint_url,username,password\nua2,opcua,opc.tcp://h:4840,op,${WITHHELD}\n`,
    );
    const r = await cli(["import", out]);
    expect(r.code).toBe(65);
    expect(r.err).toContain("connections.csv:2:5 (password)");
    expect(r.err).toContain(`${WITHHELD} stands for the stored password`);
    expect((await cli(["conn", "show", "ua2"])).code).toBe(66);
  });

  test("--include-secrets writes them in clear, in files only the owner reads, with a warning", async () => {
    const out = join(dir.path, "secret");
    const r = await cli(["export", out, "--include-secrets"]);
    expect(r.code).toBe(0);
    expect(r.err).toContain("holds passwords in clear");
    expect(readFileSync(join(out, "connections.csv"), "utf8")).toContain(UA_PW);
    expect(readFileSync(join(out, "northbound.csv"), "utf8")).toContain(MQTT_PW);
    for (const f of readdirSync(out)) expect(statSync(join(out, f)).mode & 0o777).toBe(0o600);
    // …and they import back as they are.
    expect((await cli(["import", out])).code).toBe(0);
    expect(stored()).toEqual({ ua: UA_PW, mqtt: MQTT_PW });
  });
});

describe("files", () => {
  test("the database is created 0600 (and its WAL files with it)", () => {
    expect(statSync(db).mode & 0o777).toBe(0o600);
    for (const f of readdirSync(dir.path).filter((n) => n.startsWith("ne.db-"))) {
      expect(statSync(join(dir.path, f)).mode & 0o777).toBe(0o600);
    }
  });

  test("created by root in the service user's folder, the database belongs to that user", () => {
    if (process.getuid?.() !== 0) return; // only root can give a file away
    const state = join(dir.path, "state");
    mkdirSync(state);
    chownSync(state, 65534, 65534);
    const s = openStore(join(state, "nodi-edge.db"));
    s.close();
    const st = statSync(join(state, "nodi-edge.db"));
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([65534, 65534, 0o600]);
    for (const f of readdirSync(state)) expect(statSync(join(state, f)).uid).toBe(65534);
  });

  test("the PKI folder is the owner's alone; an older, wider one is narrowed", () => {
    const data = join(dir.path, "data");
    expect(statSync(ensurePkiRoot(data)).mode & 0o777).toBe(0o700);
    chmodSync(join(data, "pki"), 0o750);
    ensurePkiRoot(data);
    expect(statSync(join(data, "pki")).mode & 0o777).toBe(0o700);
  });
});
