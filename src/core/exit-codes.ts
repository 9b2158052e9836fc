/**
 * Exit codes of the Nodi Edge executables. They tell the supervisor and systemd why a process
 * ended, so that a restart request is not mistaken for a crash. Values follow BSD
 * `sysexits.h` where one fits. The packaged `ne-intf@.service` lists `REMOVED` and `CONFIG`
 * in `RestartPreventExitStatus=` so that systemd does not restart an app whose connection is
 * gone or whose configuration cannot work.
 */
export const EXIT = {
  /** Stopped on request (SIGTERM/SIGINT), everything flushed. */
  OK: 0,
  /** Unexpected failure (a bug, an uncaught exception). Restarted with back-off. */
  CRASH: 1,
  /** Bad command line (sysexits EX_USAGE). */
  USAGE: 64,
  /** Bad input data, e.g. a CSV that failed validation (sysexits EX_DATAERR). */
  DATA: 65,
  /** A named thing does not exist: a connection, a file to import (sysexits EX_NOINPUT). */
  NO_INPUT: 66,
  /** A needed service is unreachable: Redis, the DB file (sysexits EX_UNAVAILABLE). Restarted with back-off. */
  UNAVAILABLE: 69,
  /** "Restart me": the connection's settings changed; restart at once (sysexits EX_TEMPFAIL). */
  RESTART: 75,
  /** The connection does not exist or its configuration is invalid (sysexits EX_CONFIG). Not restarted. */
  CONFIG: 78,
  /** The connection was removed or disabled; the app must not be restarted. */
  REMOVED: 80,
  /**
   * `nodi-edge tag write`: the write was sent and no reply came in time; the device may have
   * applied it (read back before retrying). No sysexits value means "outcome unknown".
   */
  WRITE_OUTCOME_UNKNOWN: 81,
} as const;

/** One of the {@link EXIT} values. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
