import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CliIO } from "../../src/cli/context.ts";
import { main } from "../../src/cli/main.ts";
import { isNodiError } from "../../src/core/errors.ts";
import { openStore } from "../../src/store/store.ts";
import { tempDir } from "../support/tmp.ts";

// Damaged database files, as found by adversarial testing: they used to escape as a raw
// SQLiteError (CLI: "internal error" + stack trace, exit 1).

const dir = tempDir("ne-store-adv-");
afterAll(() => dir.cleanup());
const EXAMPLES = join(import.meta.dir, "../../examples/demo");

function damaged(): Record<string, string> {
  const text = join(dir.path, "text.db");
  writeFileSync(text, "garbage\n");
  const random = join(dir.path, "random.db");
  const bytes = new Uint8Array(8192);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919 + 13) % 251;
  writeFileSync(random, bytes);
  const good = join(dir.path, "good.db");
  const s = openStore(good);
  for (let i = 0; i < 40; i++) {
    s.apply({
      origin: "test",
      put: [
        {
          connection: {
            conn_id: `c${i}`,
            protocol: "modbus-tcp",
            host: "127.0.0.1",
            port: 502,
            unit_id: 1,
            description: "x".repeat(200),
          } as never,
          blocks: [],
          tags: [],
        },
      ],
    });
  }
  s.db.run("PRAGMA wal_checkpoint(TRUNCATE)");
  s.close();
  const truncated = join(dir.path, "truncated.db");
  copyFileSync(good, truncated);
  truncateSync(truncated, 5000);
  return { text, random, truncated };
}

describe("damaged database files", () => {
  const files = damaged();

  test("openStore throws NodiError communication/db_unavailable naming the file", () => {
    for (const f of Object.values(files)) {
      let err: unknown;
      try {
        openStore(f).listConnections();
      } catch (e) {
        err = e;
      }
      expect(isNodiError(err, "communication")).toBe(true);
      expect((err as { reason?: string }).reason).toBe("db_unavailable");
      expect((err as Error).message).toContain(f);
    }
  });

  test("the CLI exits 69 with one line, no stack trace", async () => {
    for (const f of Object.values(files)) {
      for (const argv of [
        ["conn", "list"],
        ["db", "info"],
        ["import", EXAMPLES],
      ]) {
        let err = "";
        const io: CliIO = {
          out: () => {},
          err: (s) => {
            err += s;
          },
          env: {},
        };
        const code = await main(["--db", f, ...argv], { io });
        expect({ f, argv, code }).toEqual({ f, argv, code: 69 });
        expect(err).toStartWith(`nodi-edge: cannot use database ${f}:`);
        expect(err).not.toContain("    at ");
      }
    }
  });
});
