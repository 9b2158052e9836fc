import type { SQLiteError } from "bun:sqlite";
import { readFileSync, realpathSync, statfsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { NodiError } from "../core/errors.ts";

/** Room on the filesystem that holds a file: its mount point, free and total bytes. */
export interface FsRoom {
  /** Mount point, e.g. `/var` (`/proc/self/mountinfo`); `undefined` when it cannot be told. */
  mount?: string;
  /** Bytes an unprivileged process may still write (`statfs` f_bavail × f_bsize). */
  free: number;
  /** Size of the filesystem, bytes. */
  total: number;
}

/**
 * The room left on the filesystem holding `path` (the file's folder is asked, so it need not
 * exist yet), or `undefined` when `statfs` fails.
 */
export function roomFor(path: string): FsRoom | undefined {
  let dir = dirname(resolve(path));
  try {
    dir = realpathSync(dir);
  } catch {
    // a folder that does not exist: statfs fails below, and the room is unknown
  }
  try {
    const s = statfsSync(dir);
    const mount = mountPointOf(dir);
    return { free: s.bavail * s.bsize, total: s.blocks * s.bsize, ...(mount ? { mount } : {}) };
  } catch {
    return undefined;
  }
}

/** The longest mount point (`/proc/self/mountinfo`, field 5) that holds `dir`, or undefined. */
function mountPointOf(dir: string): string | undefined {
  let text: string;
  try {
    text = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return undefined;
  }
  let best: string | undefined;
  for (const line of text.split("\n")) {
    const raw = line.split(" ")[4];
    if (!raw) continue;
    // Spaces and the like are octal escapes in mountinfo (`\040`).
    const mount = raw.replace(/\\([0-7]{3})/g, (_, o: string) =>
      String.fromCharCode(Number.parseInt(o, 8)),
    );
    const holds = mount === "/" || dir === mount || dir.startsWith(`${mount}/`);
    if (holds && (best === undefined || mount.length > best.length)) best = mount;
  }
  return best;
}

/** Bytes for people: `0 B`, `48 kB`, `3.2 MB`, `1.5 GB` (SI units). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v >= 10 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

/** `12 kB free of 524 kB on /var`, or `free space unknown`. */
function describeRoom(room: FsRoom | undefined): string {
  if (!room) return "free space unknown";
  return `${formatBytes(room.free)} free of ${formatBytes(room.total)} on ${room.mount ?? "its filesystem"}`;
}

/**
 * Turns an SQLite failure on the database `path` into a {@link NodiError} that says what
 * happened, what it did to the data, and what to do, instead of an "internal error" with a
 * stack trace (SQLite result codes: https://www.sqlite.org/rescode.html):
 *
 * - `SQLITE_FULL`: reason `disk_full`: the filesystem holding the file is full; names it
 *   with its free space; `outcome` says what happened to the data; the cure is to free space,
 *   the database is intact.
 * - `SQLITE_IOERR…`: reason `db_io_error`: an I/O error of the disk or filesystem (a full
 *   disk shows as `SQLITE_IOERR_SHMSIZE` at open), with the free space and the kernel log to
 *   look at; never "run db init": the file is not known to be damaged.
 * - `SQLITE_READONLY…`, `SQLITE_PERM`, `SQLITE_CANTOPEN`: reason `db_unavailable`: owner,
 *   mode or a read-only mount.
 * - `SQLITE_CORRUPT…`, `SQLITE_NOTADB`: reason `db_unavailable`: damaged or not a database;
 *   only here: restore from a backup or an export, or move it away and run `nodi-edge db init`.
 * - anything else: reason `db_unavailable` with SQLite's message.
 *
 * All are kind `communication` (the CLI exits 69, `EXIT.UNAVAILABLE`).
 * @param outcome what the failed operation did to the data, e.g. `nothing was changed (the
 *   transaction was rolled back)`.
 */
export function sqliteFailure(e: SQLiteError, path: string, outcome: string): NodiError {
  const code = e.code ?? "SQLITE_ERROR";
  const what = `${e.message} (${code})`;
  const details = { path, code };
  const fail = (reason: string, message: string) =>
    new NodiError("communication", message, reason, details, { cause: e });
  if (code === "SQLITE_FULL") {
    return fail(
      "disk_full",
      `disk full: cannot write database ${path}: ${what}; ${outcome}. The filesystem holding it is full (${describeRoom(roomFor(path))}): free space there (e.g. journalctl --vacuum-size=100M, old files under /var/log or /tmp) and run it again; the database itself is intact`,
    );
  }
  if (code.startsWith("SQLITE_IOERR")) {
    return fail(
      "db_io_error",
      `I/O error on database ${path}: ${what}; ${outcome}. This is the disk or its filesystem, not the data: check its free space (${describeRoom(roomFor(path))}) and the kernel log (dmesg), then run it again; do not delete or re-create the database`,
    );
  }
  if (
    code.startsWith("SQLITE_READONLY") ||
    code === "SQLITE_PERM" ||
    code.startsWith("SQLITE_CANTOPEN")
  ) {
    return fail(
      "db_unavailable",
      `cannot use database ${path}: ${what}; ${outcome}. Check that the file and its folder are writable by this user (the services run as nodi-edge) and that the filesystem is not mounted read-only`,
    );
  }
  if (code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB") {
    // SQLITE_NOTADB / SQLITE_CORRUPT: a damaged or foreign file is the operator's problem to
    // fix, not a bug; only here does re-creating it make sense.
    return fail(
      "db_unavailable",
      `cannot use database ${path}: ${what}; restore it from a backup or an export, or move it away and run nodi-edge db init`,
    );
  }
  return fail("db_unavailable", `cannot use database ${path}: ${what}; ${outcome}`);
}
