import { NodiError } from "../core/errors.ts";

/**
 * States of an interface app (DESIGN.md §3 "App life cycle"):
 *
 * ```
 * INIT → CONFIGURE → CONNECT → EXECUTE
 *                      ↑   ↓      │ link lost
 *                      RECOVER ◀──┘
 * EXECUTE → CONFIGURE → CONNECT → EXECUTE   hot reload, the link kept (CONNECT is a no-op)
 * any → STOP                               SIGTERM, removal, restart request, fatal config
 * ```
 */
export type AppState = "INIT" | "CONFIGURE" | "CONNECT" | "EXECUTE" | "RECOVER" | "STOP";

/** Every state, in life-cycle order. */
export const APP_STATES: readonly AppState[] = [
  "INIT",
  "CONFIGURE",
  "CONNECT",
  "EXECUTE",
  "RECOVER",
  "STOP",
];

/** The legal moves. RECOVER/CONNECT → CONFIGURE is a reload while the link is down. */
export const TRANSITIONS: Readonly<Record<AppState, readonly AppState[]>> = {
  INIT: ["CONFIGURE", "STOP"],
  CONFIGURE: ["CONNECT", "STOP"],
  CONNECT: ["EXECUTE", "RECOVER", "CONFIGURE", "STOP"],
  EXECUTE: ["CONFIGURE", "RECOVER", "STOP"],
  RECOVER: ["CONNECT", "CONFIGURE", "STOP"],
  STOP: [],
};

/** Thrown for a move not in {@link TRANSITIONS}: a bug in the runtime, never ignored. */
export class IllegalTransitionError extends NodiError {
  constructor(
    readonly from: AppState,
    readonly to: AppState,
  ) {
    super("internal", `illegal state transition ${from} → ${to}`, "illegal_transition", {
      from,
      to,
    });
  }
}

/** One state change, as listeners receive it. */
export interface StateChange {
  from: AppState;
  to: AppState;
  /** Why, in a few words (e.g. `connected`, `link lost: ECONNRESET`, `config_reload`). */
  reason: string;
  /** Epoch ms. */
  at: number;
}

/** The life-cycle state machine: holds the state and its reason, checks every move. */
export class AppFsm {
  private current: AppState = "INIT";
  private why = "starting";
  private listeners: ((c: StateChange) => void)[] = [];

  get state(): AppState {
    return this.current;
  }

  get reason(): string {
    return this.why;
  }

  /** True when `to` is a legal next state. */
  can(to: AppState): boolean {
    return TRANSITIONS[this.current].includes(to);
  }

  /**
   * Moves to `to` and notifies listeners (synchronously, in registration order).
   * @throws IllegalTransitionError when the move is not legal.
   */
  go(to: AppState, reason: string): void {
    if (!this.can(to)) throw new IllegalTransitionError(this.current, to);
    const change: StateChange = { from: this.current, to, reason, at: Date.now() };
    this.current = to;
    this.why = reason;
    for (const l of this.listeners) l(change);
  }

  /**
   * Changes the reason while staying in the current state (e.g. EXECUTE `connected` →
   * `no reply (timeout)`) and notifies listeners with `from === to`, as a move would. Does
   * nothing when the reason is already `reason`.
   */
  setReason(reason: string): void {
    if (reason === this.why) return;
    const change: StateChange = { from: this.current, to: this.current, reason, at: Date.now() };
    this.why = reason;
    for (const l of this.listeners) l(change);
  }

  /** Registers a listener; returns a function that removes it. */
  onChange(listener: (c: StateChange) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }
}
