import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { EXIT } from "../../src/core/exit-codes.ts";
import { freePort } from "../support/ports.ts";
import { quietBus, runCli } from "../support/run-cli.ts";
import { tempDir } from "../support/tmp.ts";

// A first-time user on a clone runs `nodi-edge status` with no Redis on the default port: the
// error names the URL, the setting and where to look, not just "redis not reachable".

const EXAMPLES = join(import.meta.dir, "../../examples/demo");
const dir = tempDir("ne-cli-noredis-");
afterAll(() => dir.cleanup());

const db = join(dir.path, "ne.db");

for (const argv of [["status"], ["tag", "get", "/line1/speed_actual"], ["tag", "list"]]) {
  test(`${argv.join(" ")} with no Redis: exit 69, names NE_REDIS_URL and where to look`, async () => {
    const imported = await runCli(["import", EXAMPLES], {
      env: { NE_DB: db },
      busFactory: quietBus,
    });
    expect(imported.code).toBe(0);
    const url = `redis://127.0.0.1:${await freePort()}`;
    const r = await runCli(argv, { env: { NE_DB: db, NE_REDIS_URL: url } });
    expect(r.code).toBe(EXIT.UNAVAILABLE);
    expect(r.out).toBe("");
    expect(r.err).toBe(
      `nodi-edge: redis not reachable at ${url} (NE_REDIS_URL): the TagBus must run there; on a gateway see systemctl status redis-server@nodi-edge (and run as root or as a member of group nodi-edge), with npm run demo use the NE_REDIS_URL it prints\n`,
    );
  }, 30_000);
}
