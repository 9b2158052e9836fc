/**
 * A memo of `make(key)` for keys a process sees again and again (tag paths, Redis keys of
 * roots), bounded by emptying it when it holds `max` entries: a producer's paths repeat every
 * poll, so the memo refills at once, and memory stays bounded if they do not. `make` may throw
 * (nothing is stored then).
 */
export class BoundedMemo<K, V> {
  private readonly map = new Map<K, V>();

  /**
   * @param max entries held at most before the memo is emptied.
   * @param make the value of a key not held.
   */
  constructor(
    private readonly max: number,
    private readonly make: (key: K) => V,
  ) {}

  /** The value of `key`, made and stored when not held. @throws what `make` throws. */
  get(key: K): V {
    let v = this.map.get(key);
    if (v === undefined) {
      v = this.make(key);
      if (this.map.size >= this.max) this.map.clear();
      this.map.set(key, v);
    }
    return v;
  }
}
