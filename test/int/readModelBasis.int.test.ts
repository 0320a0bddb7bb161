import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { domainEvent } from '../../contracts/domainEvents.ts';
import { loadConfig } from '../../services/config.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { listParked } from '../../services/projector/parkedEvents.ts';
import { runTogether } from '../../services/projector/projectionCycle.ts';
import { createProjector, createRunners } from '../../services/projector/readModelRunners.ts';
import { recordHistories } from '../support/customerHistories.ts';
import { describeOnEachDatabase, untilOlderTransactionsEnd } from '../support/databases.ts';
import { catchUpThroughFailures, referenceRows, tableRows } from '../support/readModelTables.ts';
import { TEST_ENV } from '../support/testApp.ts';

// The read models batched together store a customer's basis in one row only (readModelBasis.ts).
// A read model that runs alone, in a process whose fold memo never saw the rows (a restart, one
// read model behind the others), must fold it again from the stream, and a fold that fails there
// must cost that read model that customer's event, not the batch.

const CUSTOMERS = 30;

async function appendTicket(db: LedgerDatabase, customerId: string, n: number): Promise<void> {
  const event = domainEvent('TicketOpened', { occurredAt: '2026-02-01T00:00:00Z', ticketId: `late-${n}`, subject: 'Late question', status: 'open', tags: [] });
  await db.store.append(`customer-${customerId}`, [{ ...event, metadata: { customerId, occurredAt: '2026-02-01T00:00:00Z', source: 'support', correlationId: `late-${n}` } }], {
    expectedVersion: 'any',
  });
}

const withoutBasis = async (db: LedgerDatabase, table: string): Promise<number> =>
  Number((await db.sql.query<{ n: string }>(`select count(*)::text as n from ${table} where basis is null`)).rows[0]!.n);

describeOnEachDatabase('read-model bases stored once', (suite) => {
  const { skip } = suite;
  let db: LedgerDatabase;
  let customers: string[];
  before(async () => {
    if (skip) return;
    db = suite.db;
    await recordHistories(db.store, CUSTOMERS, 9_000);
    await createProjector(db, loadConfig(TEST_ENV)).catchUp();
    customers = (await db.sql.query<{ customer_id: string }>('select customer_id from read_crm order by customer_id')).rows.map((r) => r.customer_id);
  });

  test('read models run without the one holding the copies fold the bases from the stream, and their rows equal a clean pass', { skip }, async () => {
    assert.equal(customers.length, CUSTOMERS);
    assert.equal(await withoutBasis(db, 'read_support'), CUSTOMERS, 'the batch stored the bases in read_crm only');
    assert.equal(await withoutBasis(db, 'read_app'), CUSTOMERS);
    for (const [n, customerId] of customers.entries()) await appendTicket(db, customerId, n);
    // shareFolds off: no memo, as in a process that just started; read_crm is not in the batch, so
    // both read models need every customer's stream (the same stream twice in one read).
    const runners = createRunners(db, loadConfig(TEST_ENV), { shareFolds: false });
    const together = [runners.get('support')!, runners.get('app')!];
    await untilOlderTransactionsEnd(db.sql);
    for (;;) {
      const outcomes = await runTogether(db.sql, together);
      const more = outcomes.map((outcome) => {
        if ('error' in outcome) throw outcome.error;
        return outcome.result.more;
      });
      if (!more.includes(true)) break;
    }
    assert.equal(await withoutBasis(db, 'read_support'), 0, 'the first read model of the batch stores every basis');
    assert.equal(await withoutBasis(db, 'read_app'), CUSTOMERS);
    assert.deepEqual(await tableRows(db, 'read_support'), await referenceRows(db, 'support'));
    assert.deepEqual(await tableRows(db, 'read_app'), await referenceRows(db, 'app'));
  });

  test('a basis that cannot be folded again parks that customer’s event for that read model only', { skip }, async () => {
    const broken = customers[0]!;
    await db.sql.exec('alter table ledger_events disable trigger ledger_events_immutable');
    try {
      // An event the domain can no longer read (as after a bad upcaster), before the row's position.
      await db.sql.query(`update ledger_events set data = '{"unreadable":true}' where stream_id = $1 and version = 1`, [`customer-${broken}`]);
    } finally {
      await db.sql.exec('alter table ledger_events enable trigger ledger_events_immutable');
    }
    for (const [n, customerId] of customers.entries()) await appendTicket(db, customerId, 100 + n);
    assert.equal(await withoutBasis(db, 'read_app'), CUSTOMERS);
    const app = createRunners(db, loadConfig(TEST_ENV), { shareFolds: false, maxAttempts: 2 }).get('app')!;
    await catchUpThroughFailures(app, db.sql);

    const parked = await listParked(db.sql, { projection: 'app', status: 'parked' });
    assert.deepEqual(parked.map((p) => [p.customerId, p.reason]), [[broken, 'failed']]);
    assert.match(parked[0]!.error ?? '', /does not match its schema/);
    const heads = await db.sql.query<{ customer_id: string; position: string; head: string }>(
      `select r.customer_id, r.position::text as position,
              (select max(e.position)::text from ledger_events e where e.stream_id = 'customer-' || r.customer_id) as head
         from read_app r order by r.customer_id`,
    );
    const behind = heads.rows.filter((r) => r.position !== r.head).map((r) => r.customer_id);
    assert.deepEqual(behind, [broken], 'every other customer reached its last event');
  });
});
