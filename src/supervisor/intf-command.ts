import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * The argv prefix that starts an interface app (`--conn-id=ID` is appended):
 * - `configured` (the `NE_INTF_CMD` setting) when given;
 * - inside the compiled multi-call binary (`Bun.main` under `/$bunfs/`): `[execPath, "ne-intf"]`;
 * - from source: `[execPath, "run", "<abs>/src/intf/main.ts"]` (`execPath` is bun).
 */
export function intfCommand(configured: string[] | undefined): string[] {
  if (configured && configured.length > 0) return [...configured];
  if (isCompiled()) return [process.execPath, "ne-intf"];
  return [process.execPath, "run", fileURLToPath(new URL("../intf/main.ts", import.meta.url))];
}

/**
 * The argv prefix that starts a northbound app (`--north-id=ID` is appended), as
 * {@link intfCommand}: `configured` (`NE_NORTH_CMD`); `[execPath, "ne-north"]` in the compiled
 * binary; `[execPath, "run", "<abs>/src/north/main.ts"]` from source.
 */
export function northCommand(configured: string[] | undefined): string[] {
  if (configured && configured.length > 0) return [...configured];
  if (isCompiled()) return [process.execPath, "ne-north"];
  return [process.execPath, "run", fileURLToPath(new URL("../north/main.ts", import.meta.url))];
}

/** True inside a `bun build --compile` executable. */
export function isCompiled(): boolean {
  return Bun.main.startsWith("/$bunfs/") || import.meta.url.includes("/$bunfs/");
}

/**
 * Prefix that makes a child receive SIGTERM when the process that spawned it dies, however it
 * dies (`prctl(PR_SET_PDEATHSIG)` through util-linux `setpriv`, which then execs the app
 * under the same pid). Empty when `setpriv` is not installed.
 */
export function parentDeathPrefix(): string[] {
  for (const p of ["/usr/bin/setpriv", "/bin/setpriv"]) {
    if (existsSync(p)) return [p, "--pdeathsig", "TERM", "--"];
  }
  return [];
}
