/** Result of one command run by a {@link CommandRunner}. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs one command (`argv[0]` looked up on PATH) to completion. Injected into the systemd
 * manager so that tests can point it at a stand-in `systemctl`.
 */
export type CommandRunner = (argv: string[]) => Promise<CommandResult>;

/** The real runner: `Bun.spawn`, output captured, never throws for a non-zero exit. */
export const spawnRunner: CommandRunner = async (argv) => {
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
};
