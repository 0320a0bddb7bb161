import type { NewEvent } from '../contracts/eventMetadata.ts';
import { customerDecider } from '../domain/customerDecider.ts';
import { loadConfig } from '../services/config.ts';
import { createRunners } from '../services/projector/readModelRunners.ts';
import { rebuildReadModel } from '../services/projector/rebuild.ts';
import { historyOf } from '../test/support/customerHistories.ts';
import { fmt, table } from './stats.ts';
import { benchTargets } from './targets.ts';

const EVENTS = Number(process.env.BENCH_REBUILD_EVENTS ?? 1_000_000);
// Events per rebuild batch; unset: what `ledger projections rebuild` uses.
const BATCH = process.env.BENCH_REBUILD_BATCH ? Number(process.env.BENCH_REBUILD_BATCH) : undefined;

// A customer's whole life decided in memory (facts + the decisions the real decider appends),
// written in one append: the log a rebuild replays, built fast.
function customerEvents(n: number): NewEvent[] {
  const customerId = `cust_rb${n}`;
  let state = customerDecider.initialState;
  const events: NewEvent[] = [];
  for (const fact of historyOf(n)) {
    for (const event of customerDecider.decide({ type: 'RecordFact', fact }, state, { now: '2026-01-02T00:00:00Z' })) {
      state = customerDecider.evolve(state, event);
      events.push({ ...event, metadata: { customerId, occurredAt: fact.data.occurredAt, source: 'app', correlationId: `rb-${n}` } });
    }
  }
  return events;
}

export async function rebuildBench(): Promise<void> {
  const rows: Record<string, string | number>[] = [];
  for (const target of await benchTargets()) {
    const db = await target.open(8);
    try {
      let written = 0;
      const started = performance.now();
      for (let n = 0; written < EVENTS; n += 8) {
        const batch = await Promise.all(
          Array.from({ length: 8 }, (_, k) => {
            const events = customerEvents(n + k);
            written += events.length;
            return db.store.append(`customer-cust_rb${n + k}`, events, { expectedVersion: 'no_stream' });
          }),
        );
        if (batch.length === 0) break;
      }
      const writeSeconds = (performance.now() - started) / 1000;
      const config = loadConfig({});
      for (const runner of createRunners(db, config).values()) {
        const result = await rebuildReadModel(db.sql, runner, BATCH ? { batchSize: BATCH } : {});
        rows.push({
          store: target.name,
          'read model': result.readModel,
          events: fmt(result.events),
          seconds: fmt(result.seconds, 1),
          'events/s': fmt(result.events / result.seconds),
          '(log written at)': `${fmt(written / writeSeconds)} events/s`,
        });
      }
    } finally {
      await target.dispose(db);
    }
  }
  console.log(`\n### Rebuild from position 0 (${fmt(EVENTS)} events, realistic customer histories)\n`);
  console.log(table(rows));
}
