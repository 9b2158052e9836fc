import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { join } from "node:path";
import { silentLogger } from "../../src/core/log.ts";
import { AuditTrail } from "../../src/store/audit.ts";
import { openAuditQueue } from "../../src/store/audit-queue.ts";
import { openStore } from "../../src/store/store.ts";
import { tempDir } from "../support/tmp.ts";

test("the daemons' audit queue never waits on a locked SQLite: entries wait and are written once it is free", () => {
  const dir = tempDir();
  const path = join(dir.path, "ne.db");
  openStore(path).close();
  const q = openAuditQueue(path, "ne-intf:plc1", silentLogger)!;
  const other = new Database(path);
  try {
    other.run("BEGIN IMMEDIATE"); // another process holds the write lock (an import)
    q.queue.push({
      kind: "write",
      identity: { via: "cli", who: "root" },
      action: "tag.write",
      target: "/plc1/sp",
      value: 1,
      result: "done",
    });
    // refused at once (a 20 ms busy timeout, not the store's 5 s), the entry kept
    expect(q.queue.flush()).toBe(false);
    other.run("COMMIT");
    expect(q.queue.flush()).toBe(true);
    const e = new AuditTrail(other, "t").list();
    expect(e.map((x) => [x.actor, x.recorded_by])).toEqual([["cli:root", "ne-intf:plc1"]]);
  } finally {
    other.close();
    q.close();
    dir.cleanup();
  }
});
