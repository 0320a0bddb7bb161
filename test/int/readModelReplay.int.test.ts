import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { loadConfig } from '../../services/config.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { READ_MODEL_NAMES } from '../../services/projector/projectorSchema.ts';
import { streamIdOf } from '../../services/commands/customerIds.ts';
import { foldCustomer } from '../../services/commands/loadCustomer.ts';
import { createProjector, createRunners } from '../../services/projector/readModelRunners.ts';
import { rebuildReadModel } from '../../services/projector/rebuild.ts';
import { recordHistories } from '../support/customerHistories.ts';
import { describeOnEachDatabase } from '../support/databases.ts';
import { TEST_ENV } from '../support/testApp.ts';

async function snapshot(db: LedgerDatabase) {
  const tables: Record<string, unknown[]> = {};
  for (const name of READ_MODEL_NAMES) {
    tables[name] = (
      await db.sql.query(`select customer_id, doc::text as doc, basis::jsonb::text as basis, position::text as position from read_${name} order by customer_id`)
    ).rows;
  }
  return tables;
}

describeOnEachDatabase('real read models replayed', (suite) => {
  const { skip } = suite;
  let db: LedgerDatabase;
  before(() => {
    if (!skip) db = suite.db;
  });

  test('10,000 events projected, then replayed from zero: identical rows, no change announced', { skip, timeout: 300_000 }, async () => {
    await recordHistories(db.store, 1500);
    const { rows } = await db.sql.query<{ n: string }>('select count(*)::text as n from ledger_events');
    assert.ok(Number(rows[0]!.n) >= 10_000, `${rows[0]!.n} events`);
    const config = loadConfig(TEST_ENV);
    await createProjector(db, config).catchUp();
    const live = await snapshot(db);
    assert.equal(live.crm!.length, 1500);

    const feedBefore = (await db.sql.query<{ n: string }>('select count(*)::text as n from read_crm_changes')).rows[0]!.n;
    for (const runner of createRunners(db, config).values()) await rebuildReadModel(db.sql, runner, { batchSize: 1000 });
    assert.deepEqual(await snapshot(db), live, 'a replay of the same events gives byte-identical rows');
    const feedAfter = (await db.sql.query<{ n: string }>('select count(*)::text as n from read_crm_changes')).rows[0]!.n;
    assert.equal(feedAfter, feedBefore, 'an identical rebuild announces no change');
    if (db.sql.kind === 'postgres') {
      // The rebuilt tables compress documents with lz4 as the migrated ones do (projectorSchema.ts).
      const { rows: compression } = await db.sql.query<{ attcompression: string }>(
        `select attcompression from pg_attribute where attrelid = 'read_crm'::regclass and attname in ('doc', 'basis')`,
      );
      assert.deepEqual(compression.map((c) => c.attcompression), ['l', 'l']);
    }
  });

  // The three runners share their folds (foldMemo.ts): the basis each row stores must still be
  // exactly the customer's state after the last event it applied, whichever runner folded it.
  test("every read model's basis is the fold of its customer's stream up to the row's position", { skip, timeout: 300_000 }, async () => {
    await recordHistories(db.store, 120);
    await createProjector(db, loadConfig(TEST_ENV), undefined, { batchSize: 37 }).catchUp();
    for (const name of READ_MODEL_NAMES) {
      const { rows } = await db.sql.query<{ customer_id: string; basis: string; position: string }>(
        `select customer_id, basis::jsonb::text as basis, position::text as position from read_${name}`,
      );
      assert.ok(rows.length >= 120, `${name}: ${rows.length} rows`);
      for (const row of rows) {
        const events = (await db.store.readStream(streamIdOf(row.customer_id))).filter((e) => e.position <= BigInt(row.position));
        assert.deepEqual(JSON.parse(row.basis), JSON.parse(JSON.stringify(foldCustomer(events))), `${name} ${row.customer_id}`);
      }
    }
  });
});
