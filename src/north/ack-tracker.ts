/** One piece of work that covers bus events up to {@link Unit.pos}. */
export interface Unit {
  /** The highest bus position this unit covers. */
  readonly pos: number;
  done: boolean;
}

/**
 * Turns out-of-order completions into in-order bus acknowledgements. Units are added in
 * position order (each covers the events after the previous unit up to its `pos`); a unit is
 * done when the broker confirmed its messages or the buffer committed its updates. `onAck` is
 * called with the `pos` of the last unit of the longest done prefix.
 */
export class AckTracker {
  private units: Unit[] = [];
  private head = 0;
  private lastPos = 0;

  constructor(private readonly onAck: (pos: number) => void) {}

  /** Units not yet acknowledged. */
  get pending(): number {
    return this.units.length - this.head;
  }

  /** Adds a unit covering events up to `pos` (≥ the previous unit's). */
  add(pos: number, done = false): Unit {
    const u: Unit = { pos: Math.max(pos, this.lastPos), done };
    this.lastPos = u.pos;
    this.units.push(u);
    if (done) this.advance();
    return u;
  }

  /** Marks `u` done and acknowledges what became contiguous. */
  complete(u: Unit): void {
    u.done = true;
    this.advance();
  }

  private advance(): void {
    let acked: number | undefined;
    while (this.head < this.units.length && this.units[this.head]!.done) {
      acked = this.units[this.head]!.pos;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.units.length) {
      this.units = this.units.slice(this.head);
      this.head = 0;
    }
    if (acked !== undefined && acked > 0) this.onAck(acked);
  }
}
