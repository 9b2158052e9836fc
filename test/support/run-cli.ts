import type { BusFactory, CliBus, CliIO } from "../../src/cli/context.ts";
import { main } from "../../src/cli/main.ts";

/** A bus for CLI tests that accepts every announcement and stores nothing. */
export const quietBus: BusFactory = async (): Promise<CliBus> => ({
  publish: async () => {},
  close: async () => true,
});

/**
 * Runs `nodi-edge` in-process with captured output.
 * @returns the exit code and everything written to stdout and stderr.
 */
export async function runCli(
  argv: string[],
  options: { env?: Record<string, string>; busFactory?: BusFactory } = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CliIO = {
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
    env: options.env ?? {},
  };
  const code = await main(argv, {
    io,
    ...(options.busFactory ? { busFactory: options.busFactory } : {}),
  });
  return { code, out, err };
}
