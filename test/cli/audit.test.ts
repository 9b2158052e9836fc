import { afterAll, expect, test } from "bun:test";
import { userInfo } from "node:os";
import { join } from "node:path";
import { parseTime } from "../../src/cli/commands/audit.ts";
import type { AuditEntry } from "../../src/store/audit.ts";
import { AuditTrail } from "../../src/store/audit.ts";
import { openStore } from "../../src/store/store.ts";
import { quietBus, runCli } from "../support/run-cli.ts";
import { tempDir } from "../support/tmp.ts";

const EXAMPLES = join(import.meta.dir, "../../examples/demo");
const dir = tempDir("ne-cli-audit-");
afterAll(() => dir.cleanup());
const db = join(dir.path, "ne.db");
const run = (argv: string[]) => runCli(["--db", db, ...argv], { busFactory: quietBus });
const me = userInfo().username;

test("nodi-edge audit: an import and a conn change are audited as the Unix user, filtered, --json", async () => {
  expect((await run(["import", EXAMPLES])).code).toBe(0);
  expect((await run(["conn", "disable", "line1"])).code).toBe(0);
  const store = openStore(db, { create: false });
  new AuditTrail(store.db, "ne-intf:line1").record({
    kind: "write",
    identity: { via: "web", who: "alice", from: "10.0.0.5" },
    action: "tag.write",
    target: "/line1/speed_sp",
    value: 1200,
    previous: 1100,
    result: "outcome_unknown",
    reason: "outcome_unknown",
  });
  store.close();

  const all = JSON.parse((await run(["audit", "--json"])).out) as AuditEntry[];
  expect(all.map((e) => e.action)).toEqual(["tag.write", "connection.put", "csv.import"]);
  expect(all[2]).toMatchObject({ kind: "config", actor: `cli:${me}`, via: "cli", result: "done" });
  expect(all[2]?.source).toMatch(/^uid \d+ pid \d+$/);
  expect(all[2]?.detail.files).toBeDefined();

  const byWho = JSON.parse((await run(["--json", "audit", "--who", "alice"])).out) as AuditEntry[];
  expect(byWho.map((e) => e.target)).toEqual(["/line1/speed_sp"]);
  const byResult = JSON.parse(
    (await run(["audit", "--json", "--result", "outcome_unknown", "--tag", "line1"])).out,
  ) as AuditEntry[];
  expect(byResult.length).toBe(1);
  expect(
    JSON.parse((await run(["audit", "--json", "--since", "2099-01-01"])).out) as unknown[],
  ).toEqual([]);

  const text = await run(["audit", "--kind", "write"]);
  expect(text.out).toContain("web:alice");
  expect(text.out).toContain("1100");
  expect(text.out).toContain("outcome_unknown");
  // the reason of an unanswered write repeats its result: shown once
  expect(text.out).not.toContain("outcome_unknown: outcome_unknown");

  const bad = await run(["audit", "--result", "maybe"]);
  expect(bad.code).toBe(64);
  expect(bad.err).toContain("--result: expected one of done, refused, outcome_unknown");
});

test("nodi-edge audit settings: shown with defaults, changed and audited, bad values refused", async () => {
  const set = await run(["audit", "settings", "audit.write.retention_days", "730"]);
  expect(set.code).toBe(0);
  expect(set.out).toMatch(/audit\.write\.retention_days\s+730\s/);
  expect(set.out).toMatch(/audit\.access\.retention_days\s+30 \(default\)/);
  const bad = await run(["audit", "settings", "audit.write.retention_days", "0"]);
  expect(bad.code).toBe(65);
  expect(bad.err).toContain("expected an integer from 1 to 36500 days");
  const e = JSON.parse((await run(["audit", "--json", "--kind", "admin"])).out) as AuditEntry[];
  expect(e[0]).toMatchObject({ action: "setting.set", value: 730, previous: 365 });
});

test("--since takes ISO times, epoch ms and durations", () => {
  expect(parseTime("--since", "2h", 10_000_000)).toBe(10_000_000 - 7_200_000);
  expect(parseTime("--since", "2026-12-01T08:00:00Z")).toBe(Date.UTC(2026, 11, 1, 8));
  expect(() => parseTime("--since", "yesterday")).toThrow(/--since: expected an ISO 8601 time/);
});
