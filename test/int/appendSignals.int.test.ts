import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { notifyOtherProcesses, onEveryAppend } from '../../services/projector/appendSignals.ts';
import { databaseTargets, dropSchemaOf, openPostgres, openSecondPool } from '../support/databases.ts';
import { anEvent, streamOf } from '../support/events.ts';

const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

// Two pools on one schema stand for two processes (the service and `ledger projections run`).
describe('append wake-ups on PostgreSQL', async () => {
  const skip = await databaseTargets.find((t) => t.name === 'postgres')!.skip();
  let one: LedgerDatabase | undefined;
  let two: LedgerDatabase | undefined;
  const stops: (() => void)[] = [];
  before(async () => {
    if (skip) return;
    one = await openPostgres(4);
    two = await openSecondPool(one, 4);
  });
  after(async () => {
    for (const stop of stops) stop();
    await two?.close();
    if (!one) return;
    await dropSchemaOf(one);
    await one.close();
  });

  test("an append wakes its own process once (its NOTIFY's echo is ignored) and wakes the other process's listener", { skip }, async () => {
    let wokenOne = 0;
    let wokenTwo = 0;
    stops.push(notifyOtherProcesses(one!, 1), notifyOtherProcesses(two!, 1));
    stops.push(await onEveryAppend(one!, () => (wokenOne += 1)), await onEveryAppend(two!, () => (wokenTwo += 1)));

    await one!.store.append(streamOf('cust_wake1'), [anEvent('cust_wake1')], { expectedVersion: 'no_stream' });
    await settle();
    assert.equal(wokenOne, 1, 'the appending process: once, by the append itself');
    assert.equal(wokenTwo, 1, 'the other process: once, by the NOTIFY');

    await two!.store.append(streamOf('cust_wake2'), [anEvent('cust_wake2')], { expectedVersion: 'no_stream' });
    await settle();
    assert.deepEqual([wokenOne, wokenTwo], [2, 2]);
  });
});
