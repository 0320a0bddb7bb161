import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RecordedEvent } from '../../contracts/eventMetadata.ts';
import { loadConfig } from '../../services/config.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { READ_MODEL_NAMES } from '../../services/projector/projectorSchema.ts';
import { applyGivenTogether } from '../../services/projector/projectionCycle.ts';
import type { ProjectionRunner } from '../../services/projector/projectionRunner.ts';
import { createRunners } from '../../services/projector/readModelRunners.ts';
import { recordHistories } from '../support/customerHistories.ts';
import { databaseTargets, dropSchemaOf, storedEvents } from '../support/databases.ts';
import { referenceRows, tableRows } from '../support/readModelTables.ts';
import { TEST_ENV } from '../support/testApp.ts';

// What a Kafka-mode projector does with each batch it is handed (applyGivenTogether),
// without a broker: Kafka delivers at least once, and these are the repeats it can deliver.
for (const target of databaseTargets) {
  describe(`Kafka-mode projection of redelivered events on ${target.name}`, async () => {
    const skip = await target.skip();
    let db: LedgerDatabase;
    let runners: ProjectionRunner<unknown>[];
    let events: RecordedEvent[];

    before(async () => {
      if (skip) return;
      db = await target.open();
      await recordHistories(db.store, 40);
      events = await storedEvents(db);
      runners = [...createRunners(db, loadConfig(TEST_ENV)).values()];
    });
    after(async () => {
      if (skip) return;
      await dropSchemaOf(db);
      await db.close();
    });

    const deliver = (batch: RecordedEvent[]) =>
      db.sql.transaction(async (tx) => (await applyGivenTogether(tx, runners, batch)).reduce((sum, [, result]) => sum + result.applied, 0));
    const changeFeedSize = async () => {
      let n = 0;
      for (const name of READ_MODEL_NAMES) n += Number((await db.sql.query<{ n: string }>(`select count(*)::text as n from read_${name}_changes`)).rows[0]!.n);
      return n;
    };

    test('batches, a replay of a prefix and relay repeats after later events equal one clean pass', { skip }, async () => {
      const third = Math.floor(events.length / 3);
      // The relay re-produced a range after a crash; a rebalance redelivered from an older offset.
      await deliver(events.slice(0, 2 * third));
      await deliver(events.slice(third, 2 * third));
      await deliver(events.slice(0, third));
      await deliver([...events.slice(2 * third), ...events.slice(third, third + 10)]);
      for (const name of READ_MODEL_NAMES) {
        assert.deepEqual(await tableRows(db, `read_${name}`), await referenceRows(db, name), `${name} equals a single store-polling pass`);
      }
    });

    test('a full redelivery applies nothing, writes no change-feed entry and keeps every row', { skip }, async () => {
      const rowsBefore = await Promise.all(READ_MODEL_NAMES.map((name) => tableRows(db, `read_${name}`)));
      const feedBefore = await changeFeedSize();
      assert.equal(await deliver(events), 0);
      assert.equal(await changeFeedSize(), feedBefore);
      assert.deepEqual(await Promise.all(READ_MODEL_NAMES.map((name) => tableRows(db, `read_${name}`))), rowsBefore);
    });
  });
}
