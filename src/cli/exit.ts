/**
 * Thrown by a command to end the run with `code` after it has printed its own message
 * (e.g. a CSV import that listed its errors). {@link main} returns the code.
 */
export class CliExit extends Error {
  override readonly name = "CliExit";
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
