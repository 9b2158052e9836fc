import { NodiError } from "../core/errors.ts";

/**
 * Resolves or rejects like `p`, but rejects with NodiError(kind `timeout`, reason `timeout`)
 * when `p` has not settled within `ms` milliseconds. `what` names the step in the message.
 */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let handle: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    handle = setTimeout(
      () => reject(new NodiError("timeout", `${what} took longer than ${ms} ms`, "timeout")),
      ms,
    );
  });
  return Promise.race([p, t]).finally(() => clearTimeout(handle));
}
