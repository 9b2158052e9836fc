import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PROGRAMS, resolveProgram } from "../../src/bin.ts";
import { versionLine } from "../../src/build-info.ts";
import { applyEnvFile, parseEnvFile } from "../../src/env-file.ts";
import { tempDir } from "../support/tmp.ts";

const dir = tempDir("ne-bin-");
afterAll(() => dir.cleanup());

describe("multi-call dispatch", () => {
  test("by the first argument, else by the name it was started as", () => {
    expect(resolveProgram("/usr/bin/ne-intf", ["--conn-id=a"])).toEqual({
      program: "ne-intf",
      args: ["--conn-id=a"],
    });
    // The supervisor starts apps as [execPath, "ne-intf", …] with execPath = the binary.
    expect(resolveProgram("/usr/bin/nodi-edge", ["ne-intf", "--conn-id=a"])).toEqual({
      program: "ne-intf",
      args: ["--conn-id=a"],
    });
    expect(resolveProgram("/usr/bin/nodi-edge", ["import", "x"])).toEqual({
      program: "nodi-edge",
      args: ["import", "x"],
    });
    expect(resolveProgram("bun", ["ne-supervisor"])).toEqual({
      program: "ne-supervisor",
      args: [],
    });
    expect(resolveProgram("bun", ["toString"])).toBeUndefined();
    expect(resolveProgram("/x/other", [])).toBeUndefined();
    expect(Object.keys(PROGRAMS).sort()).toEqual([
      "ne-intf",
      "ne-north",
      "ne-supervisor",
      "ne-web",
      "nodi-edge",
    ]);
  });

  test("--version line names program, version, commit, target", () => {
    expect(versionLine("ne-intf")).toMatch(
      /^ne-intf \d+\.\d+\.\d+\S* \(commit \S+, bun-linux-\w+.*\)$/,
    );
  });
});

describe("environment file", () => {
  test("systemd EnvironmentFile syntax", () => {
    expect(
      parseEnvFile(
        '# c\n; c\n\nNE_DB=/var/lib/x.db\nNE_A = "quoted \\"v\\""\nNE_B=\'single\'\nnot an assignment\nexport NE_C=3\nNE_DB=/later.db\n',
      ),
    ).toEqual({ NE_DB: "/later.db", NE_A: 'quoted "v"', NE_B: "single", NE_C: "3" });
  });

  test("fills only unset variables, then the packaged defaults; no file, no change", () => {
    const file = join(dir.path, "ne.env");
    writeFileSync(file, "NE_REDIS_URL=redis://10.0.0.1:6379\nNE_LOG_LEVEL=debug\n");
    const env: Record<string, string | undefined> = { NE_LOG_LEVEL: "warn" };
    expect(applyEnvFile(file, env).sort()).toEqual(["NE_DB", "NE_REDIS_URL"]);
    expect(env).toEqual({
      NE_LOG_LEVEL: "warn",
      NE_REDIS_URL: "redis://10.0.0.1:6379",
      NE_DB: "/var/lib/nodi-edge/nodi-edge.db",
    });
    const none: Record<string, string | undefined> = {};
    expect(applyEnvFile(join(dir.path, "missing.env"), none)).toEqual([]);
    expect(none).toEqual({});
  });

  const DEFAULT_DB = "/var/lib/nodi-edge/nodi-edge.db";
  const DEFAULT_BUS = "unix:///run/redis-nodi-edge/redis-server.sock";
  const DENIED =
    "cannot read /etc/nodi-edge/nodi-edge.env (permission denied): run as root or as a member of group nodi-edge";

  test("an unreadable file (EACCES, injected) still gets the packaged defaults and one warning", () => {
    const env: Record<string, string | undefined> = {};
    const warnings: string[] = [];
    const copied = applyEnvFile(undefined, env, undefined, {
      read: () => {
        throw Object.assign(new Error("EACCES: permission denied, open"), { code: "EACCES" });
      },
      warn: (l) => warnings.push(l),
    });
    expect(copied).toEqual(["NE_DB", "NE_REDIS_URL"]);
    expect(env).toEqual({ NE_DB: DEFAULT_DB, NE_REDIS_URL: DEFAULT_BUS });
    expect(warnings).toEqual([DENIED]);
    // A missing file is no gateway: no defaults, no warning.
    const none: Record<string, string | undefined> = {};
    applyEnvFile(join(dir.path, "missing.env"), none, undefined, { warn: (l) => warnings.push(l) });
    expect(none).toEqual({});
    expect(warnings).toHaveLength(1);
  });

  test("a path that is a directory (a real read error): defaults applied, the reason named", () => {
    const d = join(dir.path, "env-dir");
    mkdirSync(d);
    const env: Record<string, string | undefined> = { NE_DB: "/mine.db" };
    const warnings: string[] = [];
    applyEnvFile(d, env, undefined, { warn: (l) => warnings.push(l) });
    expect(env).toEqual({ NE_DB: "/mine.db", NE_REDIS_URL: DEFAULT_BUS }); // a set variable still wins
    expect(warnings).toEqual([`cannot read ${d} (is a directory)`]);
  });

  // The real case: a root:root 0640 file read by a user outside its group. Tests run as root
  // (which reads any file), so the reader runs as nobody through setpriv(1); as a non-root
  // user, chmod 000 is enough.
  test("a real EACCES as a non-root user: packaged defaults and the warning on stderr", async () => {
    const sub = join(dir.path, "denied");
    mkdirSync(sub);
    chmodSync(dir.path, 0o755);
    chmodSync(sub, 0o755);
    const file = join(sub, "nodi-edge.env");
    writeFileSync(file, "NE_DB=/secret.db\n");
    const asRoot = process.getuid?.() === 0;
    chmodSync(file, asRoot ? 0o640 : 0o000);
    const script = `import { applyEnvFile } from ${JSON.stringify(join(import.meta.dir, "../../src/env-file.ts"))};
const env = {}; applyEnvFile(${JSON.stringify(file)}, env); console.log(JSON.stringify(env));`;
    const cmd = [process.execPath, "-e", script];
    const proc = Bun.spawn(
      asRoot ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ...cmd] : cmd,
      {
        cwd: sub,
        env: { PATH: process.env.PATH ?? "", HOME: sub },
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    expect({ code, err: err.trim() }).toEqual({
      code: 0,
      err: `cannot read ${file} (permission denied): run as root or as a member of group nodi-edge`,
    });
    expect(JSON.parse(out)).toEqual({ NE_DB: DEFAULT_DB, NE_REDIS_URL: DEFAULT_BUS });
  }, 30_000);
});
