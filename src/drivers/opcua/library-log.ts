import { format } from "node:util";
import { setErrorLogger, setWarningLogger } from "node-opcua-client";
import type { Logger } from "../../core/log.ts";

/**
 * Sends node-opcua's own console output into our logger, so that stdout stays one JSON line
 * per event (journald). node-opcua's warnings become `debug` lines (the driver logs its own,
 * clearer warnings, e.g. for an untrusted certificate) and its errors `warn` lines, with
 * `lib: "node-opcua"`. Process-wide: the last logger given wins (one connection per process).
 */
export function routeLibraryLogs(log: Logger): void {
  const lib = log.child({ lib: "node-opcua" });
  setWarningLogger((...args: unknown[]) => lib.debug(format(...args)));
  setErrorLogger((...args: unknown[]) => lib.warn(format(...args)));
}
