/**
 * The stand-in for systemd's handling of one unit `ne-intf@ID.service` or
 * `ne-north@ID.service`, started detached by `systemctl.ts` (systemd is not PID 1 in the test
 * environment; the real thing is tested under systemd-nspawn by the packaging tests). It runs
 * `$FAKE_SYSTEMD_EXEC` (a JSON argv, or a JSON object of one argv per template name;
 * `%i` = instance) with `Restart=always` semantics through the process manager's
 * {@link ProcessInstance}, reads `MemoryMax=` from the drop-in, and writes its state to
 * `$FAKE_SYSTEMD_STATE/UNIT.json` every 50 ms until SIGTERM (`systemctl stop`).
 * `$FAKE_SYSTEMD_EXEC_STOP_POST` (a JSON argv, `%i` = instance), when set, runs after every
 * end of the main process and before its restart, with the environment systemd gives
 * `ExecStopPost=` (systemd.exec(5): `$SERVICE_RESULT`, `$EXIT_CODE`, `$EXIT_STATUS`).
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ChildExit, ProcessInstance } from "../../../src/supervisor/process-instance.ts";
import { monotonicNowMs } from "../../../src/supervisor/systemd-manager.ts";

const unit = process.argv[2]!;
const [, template, instance] = /^(ne-intf|ne-north)@(.+)\.service$/.exec(unit) as unknown as [
  string,
  string,
  string,
];
const stateDir = process.env.FAKE_SYSTEMD_STATE!;
const unitDir = process.env.FAKE_SYSTEMD_UNIT_DIR!;
const execs = JSON.parse(process.env.FAKE_SYSTEMD_EXEC!) as string[] | Record<string, string[]>;
const exec = (Array.isArray(execs) ? execs : (execs[template] ?? [])).map((a) =>
  a.replaceAll("%i", instance),
);
const policy = JSON.parse(process.env.FAKE_SYSTEMD_POLICY ?? "{}");
const stopPost = process.env.FAKE_SYSTEMD_EXEC_STOP_POST
  ? (JSON.parse(process.env.FAKE_SYSTEMD_EXEC_STOP_POST) as string[]).map((a) =>
      a.replaceAll("%i", instance),
    )
  : undefined;

/** ExecStopPost= with systemd's variables: EXIT_CODE exited|killed, EXIT_STATUS code|signal name. */
async function execStopPost(e: ChildExit): Promise<void> {
  if (!stopPost) return;
  const killed = e.signal !== null;
  const env = {
    ...process.env,
    SERVICE_RESULT:
      e.cause === "oom" ? "oom-kill" : killed ? "signal" : e.code === 0 ? "success" : "exit-code",
    EXIT_CODE: killed ? "killed" : "exited",
    EXIT_STATUS: killed ? String(e.signal).replace(/^SIG/, "") : String(e.code),
  };
  const p = Bun.spawn(stopPost, { env, stdio: ["ignore", "inherit", "inherit"] });
  await p.exited;
}
// MemoryMax= from the runtime properties (set-property --runtime) or the drop-in
let memoryMax: string | undefined;
for (const file of [
  join(stateDir, `${unit}.runtime.conf`),
  join(unitDir, `${unit}.d`, "limits.conf"),
]) {
  try {
    memoryMax ??= /^MemoryMax=(\d+[KMG]?)$/m.exec(readFileSync(file, "utf8"))?.[1];
  } catch {}
}

const inst = new ProcessInstance(
  { connId: instance, argv: exec, env: { ...process.env }, onExit: execStopPost },
  { memoryMax },
  {
    restartDelayMs: 1000,
    startLimitIntervalMs: 30_000,
    startLimitBurst: 5,
    stopTimeoutMs: 10_000,
    preventRestartExitCodes: [78, 80],
    immediateRestartExitCodes: [75],
    memoryCheckIntervalMs: 2000,
    ...policy,
  },
);

const write = () => {
  const s = inst.status();
  const monoMs = monotonicNowMs(); // systemd's CLOCK_MONOTONIC, as the real one reports it
  // as systemd: a main process that exited non-zero (and is not restarted) leaves the unit
  // failed with Result=exit-code, e.g. exit 80 under RestartPreventExitStatus=
  const exitFailed = s.state === "inactive" && (s.lastExitCode ?? 0) !== 0 && s.subState !== "dead";
  const state = exitFailed ? "failed" : s.state;
  const props = {
    ActiveState: state,
    SubState:
      s.subState === "running" ? "running" : s.state === "activating" ? "auto-restart" : "dead",
    Result:
      s.subState === "start-limit-hit"
        ? "start-limit-hit"
        : state === "failed"
          ? "exit-code"
          : "success",
    NRestarts: String(s.restarts),
    ExecMainPID: String(s.pid ?? 0),
    ExecMainStatus: String(s.lastExitCode ?? 0),
    ExecMainStartTimestampMonotonic: s.since
      ? String(Math.round((monoMs - (Date.now() - s.since)) * 1000))
      : "0",
  };
  const file = join(stateDir, `${unit}.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify(props));
  renameSync(`${file}.tmp`, file);
};

inst.start();
write();
const timer = setInterval(write, 50);
process.on("SIGTERM", async () => {
  clearInterval(timer);
  await inst.stop();
  write();
  process.exit(0);
});
