// A bounded Map that keeps what was used recently: two generations of `max` entries each. New
// and used entries go to the young one; when it is full it becomes the old one and the previous
// old one is dropped whole. So the entries set or read within the last `max` insertions are
// always kept (as a least-recently-used map of `max` would keep them), and at most 2 × `max` are
// held.
//
// Not a Map re-inserted on use and trimmed from its oldest end: V8 leaves a deleted entry's slot
// in place until the table is rebuilt, so taking the oldest key walks every slot deleted before
// it. Full, such a map spent ~14 µs per insert at 40,000 entries (the customer cache's claim
// owners, which every payment's new charge, invoice and payment-intent ids fill; `npm run bench
// -- caches`).
export class LruMap<Key, Value> {
  private young = new Map<Key, Value>();
  private old = new Map<Key, Value>();
  private readonly generation: number;

  constructor(max: number) {
    this.generation = Math.max(1, max);
  }

  get(key: Key): Value | undefined {
    const young = this.young.get(key);
    if (young !== undefined) return young;
    const old = this.old.get(key);
    if (old !== undefined) this.set(key, old);
    return old;
  }

  set(key: Key, value: Value): void {
    // An older value the old generation may still hold is never read: the young one answers
    // first, and becomes the old one when it is full.
    this.young.set(key, value);
    if (this.young.size >= this.generation) {
      this.old = this.young;
      this.young = new Map();
    }
  }
}
