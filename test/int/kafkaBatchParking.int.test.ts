import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../services/config.ts';
import { readAllWith } from '../../services/eventstore/postgresEventStore.ts';
import { listParked } from '../../services/projector/parkedEvents.ts';
import { applyGivenTogether } from '../../services/projector/projectionCycle.ts';
import { ProjectionFailure } from '../../services/projector/projectionErrors.ts';
import { READ_MODEL_NAMES } from '../../services/projector/projectorSchema.ts';
import { createRunners } from '../../services/projector/readModelRunners.ts';
import { recordHistories } from '../support/customerHistories.ts';
import { describeOnEachDatabase } from '../support/databases.ts';
import { TEST_ENV } from '../support/testApp.ts';

// Kafka mode applies a partition's batch to every read model in one transaction, and the
// consumer retries the whole batch until the read models park an event they cannot apply. That
// must take the attempts of one read model (5), not of all three one after the other (125
// rounds: ~10 minutes of backoff while the consumer's other partitions waited).
describeOnEachDatabase('Kafka-mode batches and an event no read model can apply', (suite) => {
  test('every read model parks it in the same round, after its attempts, and the batch commits with the rest applied', { skip: suite.skip }, async () => {
    const { db } = suite;
    await recordHistories(db.store, 3);
    const { rows } = await db.sql.query<{ event_id: string }>(`select event_id::text from ledger_events where type = 'LeadCaptured' order by position limit 1`);
    await db.sql.exec('alter table ledger_events disable trigger ledger_events_immutable');
    await db.sql.query('update ledger_events set schema_version = 99 where event_id = $1::uuid', [rows[0]!.event_id]);
    await db.sql.exec('alter table ledger_events enable trigger ledger_events_immutable');
    const runners = [...createRunners(db, loadConfig(TEST_ENV)).values()];
    const events = await readAllWith(db.sql, 0n, 1_000);

    let rounds = 0;
    for (;;) {
      rounds += 1;
      assert.ok(rounds <= 10, `still failing after ${rounds - 1} rounds`);
      try {
        await db.sql.transaction((tx) => applyGivenTogether(tx, runners, events));
        break;
      } catch (error) {
        assert.ok(error instanceof ProjectionFailure, String(error));
      }
    }
    assert.equal(rounds, 5, 'the fifth round parks it and commits');
    const parked = await listParked(db.sql, {});
    assert.deepEqual(
      parked.filter((p) => p.reason === 'failed').map((p) => p.projection).sort(),
      [...READ_MODEL_NAMES].sort(),
    );
    // The others are applied to their last event; the poisoned customer's later events wait (held).
    const last = new Map(events.map((e) => [e.metadata.customerId, e.position.toString()]));
    const poisoned = events.find((e) => e.eventId === rows[0]!.event_id)!.metadata.customerId;
    for (const name of READ_MODEL_NAMES) {
      const { rows: applied } = await db.sql.query<{ customer_id: string; position: string }>(`select customer_id, position::text as position from read_${name}`);
      for (const row of applied.filter((r) => r.customer_id !== poisoned)) assert.equal(row.position, last.get(row.customer_id), `${name} ${row.customer_id}`);
      assert.equal(applied.filter((r) => r.customer_id !== poisoned).length, 2, name);
    }
    assert.ok(parked.some((p) => p.reason === 'held' && p.customerId === poisoned));
  });
});
