import assert from 'node:assert/strict';
import { test } from 'node:test';
import { domainEvent } from '../../contracts/domainEvents.ts';
import type { ReadModel } from '../../projections/projection.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { describeGenericPlans, flushStatistics, untilOlderTransactionsEnd } from '../support/databases.ts';
import { runTogether } from '../../services/projector/projectionCycle.ts';
import { ProjectionRunner } from '../../services/projector/projectionRunner.ts';

// A projector batch reads its customers' rows and whether any of them has a parked event. Its
// statements are prepared (planned once per connection), so the plan they get must stay a
// per-customer probe however the tables grow: an EXISTS on the parked events was planned as one
// hash of every open parked event of the projection, read on every batch. Generic plans from
// the first call (the worst case) and one connection, so the counters see only this session.

const countingModel = (name: 'crm' | 'support' | 'app'): ReadModel<{ n: number }, null, null> => ({
  name,
  initialShared: null,
  apply: (doc) => ({ doc: { n: (doc?.n ?? 0) + 1 }, shared: null }),
});
const counting = countingModel('crm');

async function flushedCounters(db: LedgerDatabase) {
  await flushStatistics(db);
  const { rows } = await db.sql.query<{ parked_index_reads: string; scans: string }>(
    `select (select idx_tup_read from pg_stat_user_indexes where indexrelname = 'ledger_parked_open' and schemaname = current_schema())::text as parked_index_reads,
            (select sum(seq_scan) from pg_stat_user_tables
              where relname in ('read_crm', 'read_support', 'read_app', 'ledger_parked_events') and schemaname = current_schema())::text as scans`,
  );
  return { parkedIndexReads: Number(rows[0]!.parked_index_reads), scans: Number(rows[0]!.scans) };
}

describeGenericPlans('projector lookups on PostgreSQL', (suite) => {
  test('a batch probes its own customers’ rows and parked events, not every parked event', { skip: suite.skip }, async () => {
    const ledger = suite.db;
    // 400 customers with an open parked event (a bad deploy's worth), none of them in the batch.
    await ledger.sql.query(
      `insert into ledger_parked_events (projection, position, event_id, customer_id, reason, error, attempts)
       select 'crm', n, gen_random_uuid(), 'cust_stuck' || n, 'failed', 'Error: boom', 5 from generate_series(1, 400) n`,
    );
    const runner = new ProjectionRunner(ledger.sql, counting, null);
    const appendFor = (customerId: string, n: number) =>
      ledger.store.append(
        `customer-${customerId}`,
        [{ ...domainEvent('CrmPropertyChanged', { occurredAt: '2026-01-01T00:00:00Z', property: 'p', value: String(n) }), metadata: { customerId, occurredAt: '2026-01-01T00:00:00Z', source: 'crm', correlationId: `c${n}` } }],
        { expectedVersion: 'any' },
      );
    for (let n = 0; n < 5; n += 1) await appendFor(`cust_live${n}`, n);
    await untilOlderTransactionsEnd(ledger.sql);
    await runner.runBatch();
    const before = await flushedCounters(ledger);
    for (let round = 0; round < 3; round += 1) {
      for (let n = 0; n < 5; n += 1) await appendFor(`cust_live${n}`, 10 + round * 5 + n);
      await untilOlderTransactionsEnd(ledger.sql);
      const batch = await runner.runBatch();
      assert.equal(batch.applied, 5);
    }
    const afterBatches = await flushedCounters(ledger);
    // Three batches of five customers: at most one index probe each, against 400 per batch for a hash.
    assert.ok(afterBatches.parkedIndexReads - before.parkedIndexReads <= 15, `read ${afterBatches.parkedIndexReads - before.parkedIndexReads} parked index entries`);
    assert.equal(afterBatches.scans - before.scans, 0);
    const { rows } = await ledger.sql.query<{ n: number }>(`select (doc->>'n')::int as n from read_crm order by customer_id`);
    assert.deepEqual(rows.map((r) => r.n), [4, 4, 4, 4, 4]);

    // The read models batching together load all their rows in one statement: each part of it
    // must probe as the single one does.
    await ledger.sql.exec("delete from ledger_projection_checkpoints where name in ('support', 'app')");
    const runners = (['support', 'app'] as const).map((name) => new ProjectionRunner(ledger.sql, countingModel(name), null));
    const together = [runner, ...runners] as ProjectionRunner<unknown>[];
    await runTogether(ledger.sql, together);
    const beforeTogether = await flushedCounters(ledger);
    for (let round = 0; round < 3; round += 1) {
      for (let n = 0; n < 5; n += 1) await appendFor(`cust_live${n}`, 30 + round * 5 + n);
      // As above: another test file's open transaction would hold some of them behind the fence.
      await untilOlderTransactionsEnd(ledger.sql);
      const outcomes = await runTogether(ledger.sql, together);
      assert.deepEqual(outcomes.map((o) => ('result' in o ? o.result.applied : o.error)), [5, 5, 5]);
    }
    const afterTogether = await flushedCounters(ledger);
    assert.ok(afterTogether.parkedIndexReads - beforeTogether.parkedIndexReads <= 45, `read ${afterTogether.parkedIndexReads - beforeTogether.parkedIndexReads} parked index entries`);
    assert.equal(afterTogether.scans - beforeTogether.scans, 0);
  });
});
