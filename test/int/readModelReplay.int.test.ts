import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { loadConfig } from '../../services/config.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { READ_MODEL_NAMES } from '../../services/projector/projectorSchema.ts';
import { createProjector, createRunners } from '../../services/projector/readModelRunners.ts';
import { rebuildReadModel } from '../../services/projector/rebuild.ts';
import { recordHistories } from '../support/customerHistories.ts';
import { describeOnEachDatabase } from '../support/databases.ts';
import { TEST_ENV } from '../support/testApp.ts';

async function snapshot(db: LedgerDatabase) {
  const tables: Record<string, unknown[]> = {};
  for (const name of READ_MODEL_NAMES) {
    tables[name] = (
      await db.sql.query(`select customer_id, doc::text as doc, basis::text as basis, position::text as position from read_${name} order by customer_id`)
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
  });
});
