/**
 * A stand-in `systemctl` for the service-manager contract suite, used only because systemd
 * is not PID 1 here. It understands the subset the systemd manager uses:
 * `daemon-reload`, `enable --now U`, `disable --now U`, `start U`, `stop U`, `reset-failed U`,
 * `set-property --runtime U MemoryMax=… CPUQuota=…`, `show -p A,B U`,
 * `list-units PATTERN --all --plain --no-legend --no-pager`.
 * State lives in `$FAKE_SYSTEMD_STATE`: `U.enabled`, `U.runner` (pid of the detached
 * `unit-runner.ts`), `U.json` (the runner's properties), `daemon-reloads` (a counter).
 */
import {
  appendFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

const stateDir = process.env.FAKE_SYSTEMD_STATE!;
const args = process.argv.slice(2).filter((a) => !a.startsWith("--") || a === "--now");
const cmd = args[0];

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const runnerPid = (u: string) => {
  const f = join(stateDir, `${u}.runner`);
  return existsSync(f) ? Number(readFileSync(f, "utf8")) : 0;
};
const waitFor = async (cond: () => boolean, ms = 15_000) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await Bun.sleep(20);
};
const props = (u: string): Record<string, string> => {
  const f = join(stateDir, `${u}.json`);
  const p: Record<string, string> = existsSync(f)
    ? JSON.parse(readFileSync(f, "utf8"))
    : {
        ActiveState: "inactive",
        SubState: "dead",
        Result: "success",
        NRestarts: "0",
        ExecMainPID: "0",
      };
  p.UnitFileState = existsSync(join(stateDir, `${u}.enabled`)) ? "enabled" : "disabled";
  return p;
};

async function stop(u: string) {
  const pid = runnerPid(u);
  if (pid && alive(pid)) {
    process.kill(pid, "SIGTERM");
    await waitFor(() => !alive(pid));
  }
  rmSync(join(stateDir, `${u}.runner`), { force: true });
}

switch (cmd) {
  case "daemon-reload":
    appendFileSync(join(stateDir, "daemon-reloads"), "x");
    break;
  case "start":
  case "enable": {
    const u = args.at(-1)!;
    if (cmd === "enable") writeFileSync(join(stateDir, `${u}.enabled`), "");
    const pid = runnerPid(u);
    if ((cmd === "start" || args.includes("--now")) && !(pid && alive(pid))) {
      rmSync(join(stateDir, `${u}.json`), { force: true });
      const runner = Bun.spawn([process.execPath, join(import.meta.dir, "unit-runner.ts"), u], {
        stdio: ["ignore", "ignore", "ignore"],
        detached: true,
      });
      runner.unref();
      writeFileSync(join(stateDir, `${u}.runner`), String(runner.pid));
      await waitFor(() => existsSync(join(stateDir, `${u}.json`)));
    }
    break;
  }
  case "disable": {
    const u = args.at(-1)!;
    rmSync(join(stateDir, `${u}.enabled`), { force: true });
    if (args.includes("--now")) await stop(u);
    break;
  }
  case "stop":
    await stop(args.at(-1)!);
    break;
  case "set-property": {
    // set-property --runtime UNIT Key=Value…  (args without --runtime: set-property UNIT K=V…)
    const u = args[1]!;
    writeFileSync(join(stateDir, `${u}.runtime.conf`), `${args.slice(2).join("\n")}\n`);
    break;
  }
  case "reset-failed": {
    const u = args.at(-1)!;
    const p = props(u);
    if (p.ActiveState === "failed" || p.ActiveState === "inactive") {
      await stop(u);
      rmSync(join(stateDir, `${u}.json`), { force: true });
    }
    break;
  }
  case "show": {
    const u = args.at(-1)!;
    const wanted = (process.argv[process.argv.indexOf("-p") + 1] ?? "").split(",");
    const p = props(u);
    console.log(wanted.map((k) => `${k}=${p[k] ?? ""}`).join("\n"));
    break;
  }
  case "list-units": {
    // the pattern: `ne-intf@*` or `ne-north@*`
    const head = (args[1] ?? "ne-intf@*").replace(/\*$/, "");
    const units = new Set<string>();
    for (const f of readdirSync(stateDir)) {
      const m = /^(ne-(?:intf|north)@.+\.service)\.(enabled|json)$/.exec(f);
      if (m?.[1]?.startsWith(head)) units.add(m[1]);
    }
    for (const u of [...units].sort()) {
      const p = props(u);
      console.log(`${u} loaded ${p.ActiveState} ${p.SubState} fake unit`);
    }
    break;
  }
  default:
    console.error(`fake systemctl: unsupported command ${JSON.stringify(process.argv.slice(2))}`);
    process.exit(1);
}
