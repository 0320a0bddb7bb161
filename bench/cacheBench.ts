import { LruMap } from '../services/lruMap.ts';
import { fmt, table } from './stats.ts';

// The service's bounded caches when full, at their shipped sizes: the projector's fold memo
// (4,096), the customer cache (10,000 customers) and its claim owners (40,000: every payment adds
// its charge, invoice and payment-intent ids). Per delivery they take a few inserts and reads;
// the figure is one insert of a new key plus one read of a recent one, beside a Map re-inserted
// on use and trimmed from its oldest end (the LruMap before session 20), whose cost grew with the
// map: V8 keeps a deleted entry's slot until the table is rebuilt, and finding the oldest key
// walks them. One process, one core, no I/O.

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const OPERATIONS = Number(process.env.BENCH_CACHE_OPERATIONS ?? 200_000);

interface Bounded {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
}

class ReinsertedMap implements Bounded {
  private readonly entries = new Map<string, unknown>();
  constructor(private readonly max: number) {}
  get(key: string): unknown {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }
  set(key: string, value: unknown): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }
}

// µs per insert + read, the map full before and throughout.
function measure(make: () => Bounded, size: number): number {
  const results: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const map = make();
    for (let i = 0; i < size * 2; i += 1) map.set(`warm_${round}_${i}`, i);
    const start = performance.now();
    for (let i = 0; i < OPERATIONS; i += 1) {
      map.set(`key_${round}_${i}`, i);
      map.get(`key_${round}_${Math.max(0, i - 5)}`);
    }
    results.push(((performance.now() - start) * 1000) / OPERATIONS);
  }
  return results.sort((a, b) => a - b)[Math.floor(results.length / 2)]!;
}

export async function cacheBench(): Promise<void> {
  const rows = [
    ['fold memo', 4_096],
    ['customers', 10_000],
    ['claim owners', 40_000],
  ].map(([cache, size]) => ({
    cache: cache as string,
    entries: fmt(size as number),
    'LruMap µs per insert + read': fmt(measure(() => new LruMap<string, unknown>(size as number), size as number), 2),
    'Map re-inserted on use µs': fmt(measure(() => new ReinsertedMap(size as number), size as number), 2),
  }));
  console.log(`\n### Bounded caches when full (median of ${ROUNDS} rounds of ${fmt(OPERATIONS)} inserts and reads)\n`);
  console.log(table(rows));
}
