import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
// @ts-expect-error: a plain .mjs setup script without type declarations
import { POLICY_RC_D, withServicesHeld } from "../../scripts/policy-rc.mjs";
import { tempDir } from "../support/tmp.ts";

// scripts/ensure-deps.mjs installs Debian packages inside withServicesHeld so that their
// maintainer scripts start no service (redis-server.service was left running by .ci/run).
// The real path is /usr/sbin/policy-rc.d; these tests use a path in a temp dir, since other
// engineers' apt runs on this machine would see the real one.
const dir = tempDir("ne-policy-rc-");
afterAll(() => dir.cleanup());
let n = 0;
const fresh = () => join(dir.path, `policy-rc.d.${++n}`);

describe("temporary policy-rc.d while packages install", () => {
  test("the real path is the one invoke-rc.d consults", () => {
    expect(POLICY_RC_D).toBe("/usr/sbin/policy-rc.d");
  });

  test("as root: exists (executable, exits 101) during the install, gone afterwards", () => {
    const path = fresh();
    const seen = withServicesHeld(
      () => {
        expect((statSync(path).mode & 0o777).toString(8)).toBe("755");
        // invoke-rc.d runs `policy-rc.d <service> <action>`; 101 = action forbidden.
        return Bun.spawnSync([path, "redis-server", "start"]).exitCode;
      },
      { path, isRoot: true },
    );
    expect(seen).toBe(101);
    expect(existsSync(path)).toBe(false);
  });

  test("removed also when the install throws", () => {
    const path = fresh();
    expect(() =>
      withServicesHeld(
        () => {
          throw new Error("apt failed");
        },
        { path, isRoot: true },
      ),
    ).toThrow("apt failed");
    expect(existsSync(path)).toBe(false);
  });

  test("an existing policy-rc.d (the admin's) is neither replaced nor removed", () => {
    const path = fresh();
    writeFileSync(path, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    withServicesHeld(() => expect(readFileSync(path, "utf8")).toBe("#!/bin/sh\nexit 0\n"), {
      path,
      isRoot: true,
    });
    expect(readFileSync(path, "utf8")).toBe("#!/bin/sh\nexit 0\n");
  });

  test("not root: nothing is written (sudo installs behave as usual)", () => {
    const path = fresh();
    expect(withServicesHeld(() => existsSync(path), { path, isRoot: false })).toBe(false);
    expect(existsSync(path)).toBe(false);
  });
});
