import type { LedgerDatabase } from '../services/eventstore/database.ts';
import { fmt, percentile, rate, runFor, table } from './stats.ts';
import { benchTargets, benchEvent, type BenchTarget } from './targets.ts';

const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 5) * 1000;
const CONCURRENCY = [1, 8, 32];

// The ceiling: one plain single-row INSERT per commit into a bare table, same database, same concurrency.
export async function bareInsertRate(db: LedgerDatabase, concurrency: number): Promise<number> {
  await db.sql.exec('drop table if exists bench_bare; create table bench_bare (id bigserial primary key, payload jsonb not null)');
  const payload = JSON.stringify(benchEvent('cust_bare').data);
  const result = await runFor(DURATION_MS, concurrency, async () => {
    await db.sql.query('insert into bench_bare (payload) values ($1::jsonb)', [payload]);
  });
  return rate(result);
}

async function benchTarget(target: BenchTarget): Promise<Record<string, string | number>[]> {
  const rows: Record<string, string | number>[] = [];
  for (const concurrency of CONCURRENCY) {
    const db = await target.open(concurrency);
    try {
      const run = Date.now().toString(36);
      const ceiling = await bareInsertRate(db, concurrency);
      const scenarios: [string, (w: number, i: number) => Promise<unknown>][] = [
        ['new streams', (w, i) => db.store.append(`customer-cust_${run}n${w}x${i}`, [benchEvent(`cust_${run}n${w}x${i}`)], { expectedVersion: 'no_stream' })],
        ['hot stream', () => db.store.append(`customer-cust_${run}hot`, [benchEvent(`cust_${run}hot`)], { expectedVersion: 'any' })],
      ];
      for (const [name, op] of scenarios) {
        const result = await runFor(DURATION_MS, concurrency, async (w, i) => {
          await op(w, i);
        });
        rows.push({
          store: target.name,
          scenario: name,
          concurrency,
          'appends/s': fmt(rate(result)),
          'p50 ms': fmt(percentile(result.latenciesMs, 50), 2),
          'p99 ms': fmt(percentile(result.latenciesMs, 99), 2),
          'bare inserts/s': fmt(ceiling),
          'of ceiling': `${fmt((100 * rate(result)) / ceiling)} %`,
        });
      }
    } finally {
      await target.dispose(db);
    }
  }
  return rows;
}

async function readAllRate(target: BenchTarget): Promise<Record<string, string | number>> {
  const db = await target.open(8);
  try {
    const total = Number(process.env.BENCH_READ_EVENTS ?? 100_000);
    const batch = 1000;
    const events = Array.from({ length: batch }, (_, i) => benchEvent(`cust_read${i % 100}`));
    for (let written = 0; written < total; written += batch) {
      await db.store.append(`customer-cust_read${written}`, events, { expectedVersion: 'any' });
    }
    const start = performance.now();
    let cursor = 0n;
    let read = 0;
    for (;;) {
      const page = await db.store.readAll({ after: cursor, limit: 1000 });
      if (page.length === 0) break;
      read += page.length;
      cursor = page.at(-1)!.position;
    }
    const seconds = (performance.now() - start) / 1000;
    return { store: target.name, events: fmt(read), 'readAll events/s': fmt(read / seconds), 'batch size': 1000 };
  } finally {
    await target.dispose(db);
  }
}

export async function storeBench(): Promise<void> {
  const appendRows: Record<string, string | number>[] = [];
  const readRows: Record<string, string | number>[] = [];
  for (const target of await benchTargets()) {
    appendRows.push(...(await benchTarget(target)));
    readRows.push(await readAllRate(target));
  }
  console.log(`\n### Appends (single event per append, ${DURATION_MS / 1000} s per cell)\n`);
  console.log(table(appendRows));
  console.log('\n### readAll\n');
  console.log(table(readRows));
}

