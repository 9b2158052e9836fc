/**
 * Thrown inside the interface app to end `IntfApp.run()` with an exit code of
 * `core/exit-codes.ts` (`code`) and a reason for the log and the `STOP` state (`why`).
 */
export class ExitRequest extends Error {
  constructor(
    readonly code: number,
    readonly why: string,
  ) {
    super(why);
  }
}
