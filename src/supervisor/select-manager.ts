import { existsSync } from "node:fs";
import type { Logger } from "../core/log.ts";
import type { Settings } from "../core/settings.ts";
import type { LogSink } from "./child-logs.ts";
import { intfCommand, northCommand } from "./intf-command.ts";
import { ProcessManager, type ProcessManagerOptions } from "./process-manager.ts";
import type { ServiceManager } from "./service-manager.ts";
import { SystemdManager } from "./systemd-manager.ts";

/**
 * The service manager the settings ask for: `NE_SERVICE_MANAGER=systemd|process`, or with
 * `auto` systemd when it is PID 1 (`/run/systemd/system` exists, as `sd_booted(3)` tests),
 * else the process manager.
 */
export function selectServiceManager(
  settings: Settings,
  opts: {
    log?: Logger;
    sink?: LogSink;
    systemdProbe?: string;
    /** Process manager only: see `ProcessManagerOptions.onExit` (under systemd, `ExecStopPost=`). */
    onExit?: ProcessManagerOptions["onExit"];
    /** Process manager only: see `ProcessManagerOptions.onStart` (under systemd: the app's own first state). */
    onStart?: ProcessManagerOptions["onStart"];
  } = {},
): ServiceManager {
  const kind =
    settings.serviceManager === "auto"
      ? existsSync(opts.systemdProbe ?? "/run/systemd/system")
        ? "systemd"
        : "process"
      : settings.serviceManager;
  if (kind === "systemd") return new SystemdManager(opts.log ? { log: opts.log } : {});
  return new ProcessManager({
    command: intfCommand(settings.intfCmd),
    northCommand: northCommand(settings.northCmd),
    ...(opts.log ? { log: opts.log } : {}),
    ...(opts.sink ? { sink: opts.sink } : {}),
    ...(opts.onExit ? { onExit: opts.onExit } : {}),
    ...(opts.onStart ? { onStart: opts.onStart } : {}),
  });
}
