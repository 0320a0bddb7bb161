import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { loadConfig } from '../../services/config.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { READ_MODEL_NAMES } from '../../services/projector/projectorSchema.ts';
import { createProjector, createRunners } from '../../services/projector/readModelRunners.ts';
import { loadRows } from '../../services/projector/readModelRows.ts';
import { rebuildReadModel } from '../../services/projector/rebuild.ts';
import { recordHistories } from '../support/customerHistories.ts';
import { describeOnEachDatabase } from '../support/databases.ts';
import { foldedBasisText, tableRows } from '../support/readModelTables.ts';
import { TEST_ENV } from '../support/testApp.ts';

async function snapshot(db: LedgerDatabase) {
  const tables: Record<string, unknown[]> = {};
  for (const name of READ_MODEL_NAMES) tables[name] = await tableRows(db, `read_${name}`);
  return tables;
}

describeOnEachDatabase('real read models replayed', (suite) => {
  const { skip } = suite;
  let db: LedgerDatabase;
  before(() => {
    if (!skip) db = suite.db;
  });

  // Enough events for the replay to span several of its batches (1,000) and the live catch-up many.
  test('5,000 events projected, then replayed from zero: identical rows, no change announced', { skip, timeout: 300_000 }, async () => {
    await recordHistories(db.store, 800);
    const { rows } = await db.sql.query<{ n: string }>('select count(*)::text as n from ledger_events');
    assert.ok(Number(rows[0]!.n) >= 5_000, `${rows[0]!.n} events`);
    const config = loadConfig(TEST_ENV);
    await createProjector(db, config).catchUp();
    const live = await snapshot(db);
    assert.equal(live.crm!.length, 800);

    const feedBefore = (await db.sql.query<{ n: string }>('select count(*)::text as n from read_crm_changes')).rows[0]!.n;
    for (const runner of createRunners(db, config).values()) await rebuildReadModel(db.sql, runner, { batchSize: 1000 });
    assert.deepEqual(await snapshot(db), live, 'a replay of the same events gives the same documents, positions and bases');
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

  // The three runners share their folds (foldMemo.ts) and store each basis once (readModelBasis.ts):
  // every basis stored must still be exactly the customer's state after the last event its row
  // applied, whichever runner folded it, and the one loaded for a row without one as well.
  test("every read model's basis is the fold of its customer's stream up to the row's position, stored once", { skip, timeout: 300_000 }, async () => {
    // Rows a rebuild wrote (the test above, which compared them with the live ones) hold a basis
    // each: a rebuild replays one read model alone. The rows checked here are the new customers'.
    const rebuiltTo = BigInt((await db.sql.query<{ head: string }>('select coalesce(max(position), 0)::text as head from ledger_events')).rows[0]!.head);
    await recordHistories(db.store, 120, 5_000);
    await createProjector(db, loadConfig(TEST_ENV), undefined, { batchSize: 37 }).catchUp();
    const carriers = new Map<string, number>();
    for (const name of READ_MODEL_NAMES) {
      const { rows } = await db.sql.query<{ customer_id: string; basis: string | null; position: string }>(
        `select customer_id, basis::jsonb::text as basis, position::text as position from read_${name} where position > $1::bigint`,
        [rebuiltTo.toString()],
      );
      assert.equal(rows.length, 120, name);
      const loaded = await loadRows(db.sql, `read_${name}`, rows.map((row) => row.customer_id));
      for (const row of rows) {
        const folded = await foldedBasisText(db, row.customer_id, row.position);
        if (row.basis !== null) assert.equal(row.basis, folded, `${name} ${row.customer_id}: stored`);
        const load = (await db.sql.query<{ basis: string }>('select $1::jsonb::text as basis', [JSON.stringify(loaded.get(row.customer_id)!.basis)])).rows[0]!;
        assert.equal(load.basis, folded, `${name} ${row.customer_id}: loaded`);
        const key = `${row.customer_id}@${row.position}`;
        carriers.set(key, (carriers.get(key) ?? 0) + (row.basis === null ? 0 : 1));
      }
    }
    // The read models moved together: each customer's three rows stand at one position, one holds it.
    assert.equal(carriers.size, 120);
    assert.deepEqual([...new Set(carriers.values())], [1]);
  });
});
