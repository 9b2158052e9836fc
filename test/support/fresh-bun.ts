/**
 * Runs `script` with `bun -e` in a fresh process (this test run's Bun), in `cwd`, with
 * `env` added to this process's environment, so that what a module loads can be observed from
 * scratch.
 * @returns its stdout, whole.
 * @throws Error with its exit code and stderr when it exits non-zero.
 */
export async function runFreshBun(
  script: string,
  cwd: string,
  env: Record<string, string> = {},
): Promise<string> {
  const p = Bun.spawn([process.execPath, "-e", script], {
    cwd,
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  if (code !== 0) throw new Error(`bun -e exited ${code}: ${err}`);
  return out;
}
