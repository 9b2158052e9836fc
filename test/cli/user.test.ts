import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { AuditTrail } from "../../src/store/audit.ts";
import { openStore } from "../../src/store/store.ts";
import { Auth } from "../../src/web/auth.ts";
import { quietBus, runCli } from "../support/run-cli.ts";
import { tempDir } from "../support/tmp.ts";

const dir = tempDir("ne-cli-user-");
afterAll(() => dir.cleanup());
const db = join(dir.path, "ne.db");
const pw = join(dir.path, "pw");
writeFileSync(pw, "a long password\n");
const run = (argv: string[]) => runCli(["--db", db, ...argv], { busFactory: quietBus });

test("nodi-edge user and token: roles, a token shown once and stored hashed, revocable, audited", async () => {
  expect((await run(["db", "init"])).code).toBe(0);
  const first = await run(["user", "add", "admin", "--password-file", pw]);
  expect(first.out).toContain("admin: created, role admin");
  const op = await run([
    "user",
    "add",
    "otto",
    "--password-file",
    pw,
    "--role",
    "operator",
    "--conns",
    "line1,line2",
  ]);
  expect(op.out).toContain("otto: created, role operator, connections line1,line2");
  expect((await run(["user", "set", "otto", "--role", "wizard"])).code).toBe(65);
  const made = await run([
    "--json",
    "token",
    "create",
    "hist",
    "--user",
    "otto",
    "--role",
    "viewer",
  ]);
  const { token } = JSON.parse(made.out) as { token: string };
  expect(token).toMatch(/^ne_/);
  const store = openStore(db, { create: false });
  try {
    expect(JSON.stringify(store.db.query("SELECT * FROM web_tokens").all())).not.toContain(token);
    expect(new Auth(store.db).tokenPrincipal(token)).toMatchObject({
      role: "viewer",
      tokenName: "hist",
    });
  } finally {
    store.close();
  }
  expect((await run(["token", "create", "root", "--user", "otto", "--role", "admin"])).code).toBe(
    65,
  );
  const list = await run(["token", "list"]);
  expect(list.out).toMatch(/hist\s+otto\s+viewer\s+all\s+2/);
  expect((await run(["token", "revoke", "hist"])).code).toBe(0);
  expect((await run(["token", "revoke", "hist"])).code).toBe(66);
  const s2 = openStore(db, { create: false });
  try {
    expect(new Auth(s2.db).tokenPrincipal(token)).toBeUndefined();
    const actions = new AuditTrail(s2.db, "t").list({ kind: "admin" });
    expect(actions.map((e) => e.action)).toEqual([
      "token.revoke",
      "token.create",
      "user.add",
      "user.add",
    ]);
    expect(actions[0]?.actor).toBe(`cli:${userInfo().username}`);
  } finally {
    s2.close();
  }
});
