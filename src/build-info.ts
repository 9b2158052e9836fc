import pkg from "../package.json" with { type: "json" };

// Replaced at compile time by `build/build.ts` (`bun build --define NE_BUILD_VERSION=…`).
// Under `bun run` they are undefined and the fallbacks below apply.
declare const NE_BUILD_VERSION: string | undefined;
declare const NE_BUILD_COMMIT: string | undefined;
declare const NE_BUILD_TARGET: string | undefined;

/** What a build is: shown by `--version` of every executable. */
export interface BuildInfo {
  /** Package version, from `package.json` (e.g. `0.1.0`). */
  version: string;
  /** Git commit the executable was built from (short hash, `+dirty` when the tree had changes); `dev` under `bun run`. */
  commit: string;
  /** Bun compile target, e.g. `bun-linux-x64`; `bun-linux-x64 (not compiled)` under `bun run`. */
  target: string;
}

/** The build of this process. */
export const BUILD_INFO: BuildInfo = {
  version: typeof NE_BUILD_VERSION === "string" ? NE_BUILD_VERSION : pkg.version,
  commit: typeof NE_BUILD_COMMIT === "string" ? NE_BUILD_COMMIT : "dev",
  target:
    typeof NE_BUILD_TARGET === "string"
      ? NE_BUILD_TARGET
      : `bun-${process.platform}-${process.arch} (not compiled)`,
};

/** One line for `--version`: `ne-intf 0.1.0 (commit 1a2b3c4, bun-linux-x64)`. */
export function versionLine(program: string): string {
  return `${program} ${BUILD_INFO.version} (commit ${BUILD_INFO.commit}, ${BUILD_INFO.target})`;
}
