/**
 * Once, a while after an interface app's blocks started: lets JavaScriptCore throw away the
 * compiled code it holds (bytecode, code blocks, JIT code) so that only what still runs is
 * compiled again. What ran only at start-up (settings, the store and its validation, the lease,
 * the connect, the blocks' set-up) otherwise keeps its bytecode and code blocks in every app for
 * as long as it runs: a full collection (the heap trim's) frees a code block that stopped
 * running but never the bytecode behind it. Running compiled Modbus apps of 30 tags at 100 ms:
 * anonymous memory 0.6–1.0 MiB lower per app, PSS per connection at N = 50 13.7 → 12.7 MiB,
 * CPU the same once warm side by side at N ≤ 15 (docs/performance.md "PSS per running app,
 * second pass"); at N = 50 the apps' CPU was 2.5–3 points of the machine higher, as with the
 * heap trim's push pace (docs/performance.md "Issue 15 goals at the end of the session of
 * 2026-12-02 16:09": a deliberate trade of CPU for memory).
 */

/**
 * Time after the blocks started before the release, ms: start-up is over, and the polling path
 * has not tiered up yet, so compiling it again costs little. Released 20 s after the start, the
 * same memory went but the apps spent 5–20 % more CPU for the next ~30 s and more (their hot
 * code warming up again at 10 polls/s; docs/performance.md "PSS per running app, second pass").
 */
export const CODE_RELEASE_DELAY_MS = 2_000;

/**
 * Drops the compiled code of every function not running now, and the garbage with it, the next
 * time JavaScriptCore is idle (at the latest when the current job returns to the event loop):
 * `Bun.shrink()` (JSC's `VM::shrinkFootprintWhenIdle`: delete all code, a full collection,
 * the allocator's free pages back to the system). Where a later Bun lacks it (it is marked
 * deprecated), `Bun.gc(true)`, which is much weaker (in a running app, with a full collection
 * after it: JS heap 3.0 MiB against 2.1 after `Bun.shrink()`). Functions compile again from
 * the executable's embedded source or bytecode the next time they run.
 */
export function releaseCompiledCode(): void {
  const shrink = (Bun as { shrink?: () => void }).shrink;
  if (typeof shrink === "function") shrink.call(Bun);
  else Bun.gc(true);
}

/** Tunables and seams of a {@link CodeRelease} (tests pass a fake clock and release). */
export interface CodeReleaseOptions {
  /** Default {@link CODE_RELEASE_DELAY_MS}. */
  delayMs?: number;
  /** A clock in ms (default `performance.now`). */
  now?: () => number;
  /** Default {@link releaseCompiledCode}. */
  release?: () => void;
}

/**
 * Runs {@link releaseCompiledCode} once per app process, at the first {@link idle} moment
 * (a publish done) {@link CodeReleaseOptions.delayMs} after {@link started}. A restart of the
 * blocks (reload, reconnect) does not repeat it: what start-up compiled again is small next to
 * the first time, and each release costs the polling path's compilation again.
 */
export class CodeRelease {
  private dueAt: number | undefined;
  private done = false;
  /** Releases run: 0 or 1 (tests, diagnostics). */
  releases = 0;

  constructor(private readonly o: CodeReleaseOptions = {}) {}

  private now(): number {
    return (this.o.now ?? performance.now)();
  }

  /** The blocks are started: the release is due {@link CodeReleaseOptions.delayMs} from now (the first call counts). */
  started(): void {
    if (this.done || this.dueAt !== undefined) return;
    this.dueAt = this.now() + (this.o.delayMs ?? CODE_RELEASE_DELAY_MS);
  }

  /** The app is idle: releases when due. Cheap otherwise (a clock read at most). */
  idle(): void {
    if (this.done || this.dueAt === undefined || this.now() < this.dueAt) return;
    this.done = true;
    this.releases++;
    (this.o.release ?? releaseCompiledCode)();
  }
}
