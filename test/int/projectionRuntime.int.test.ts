import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { domainEvent } from '../../contracts/domainEvents.ts';
import type { NewEvent } from '../../contracts/eventMetadata.ts';
import type { ReadModel } from '../../projections/projection.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { drainCustomer, listParked, skipParked } from '../../services/projector/parkedEvents.ts';
import { ProjectionRunner } from '../../services/projector/projectionRunner.ts';
import { projectionStatus } from '../../services/projector/projectionStatus.ts';
import { rebuildReadModel } from '../../services/projector/rebuild.ts';
import { describeOnEachDatabase } from '../support/databases.ts';
import { catchUpThroughFailures, foldedBasisText } from '../support/readModelTables.ts';

// A read model that lists the CRM properties it saw, per customer, and counts all events in
// `shared`; it fails on property 'poison' until `fixed` is set (a bug and its fix).
let fixed = false;
interface Doc {
  seen: string[];
}
const listing: ReadModel<Doc, { total: number }, null> = {
  name: 'crm',
  initialShared: { total: 0 },
  apply(doc, input, { shared }) {
    if (input.event.type !== 'CrmPropertyChanged') return { doc, shared };
    if (input.event.data.property === 'poison' && !fixed) throw new Error('cannot project poison');
    return { doc: { seen: [...(doc?.seen ?? []), input.event.data.property] }, shared: { total: shared.total + 1 } };
  },
};

const fact = (customerId: string, property: string, n: number): NewEvent => ({
  ...domainEvent('CrmPropertyChanged', { occurredAt: `2026-01-01T00:00:${String(n % 60).padStart(2, '0')}Z`, property, value: String(n) }),
  metadata: { customerId, occurredAt: '2026-01-01T00:00:00Z', source: 'crm', correlationId: `c${n}` },
});

async function append(db: LedgerDatabase, customerId: string, property: string, n: number) {
  await db.store.append(`customer-${customerId}`, [fact(customerId, property, n)], { expectedVersion: 'any' });
}


async function rows(db: LedgerDatabase, table = 'read_crm') {
  const { rows } = await db.sql.query<{ customer_id: string; doc: string; basis: string; position: string }>(
    `select customer_id, doc::text as doc, basis::jsonb::text as basis, position::text as position from ${table} order by customer_id`,
  );
  return rows;
}

describeOnEachDatabase('projection runtime', (suite) => {
  const { skip } = suite;
  let db: LedgerDatabase;
  before(() => {
    if (!skip) db = suite.db;
  });

  test('a poisoned event is parked; other customers flow; its customer waits; retry after the fix drains in order', { skip }, async () => {
    fixed = false;
    const runner = new ProjectionRunner(db.sql, listing as ReadModel<unknown, unknown, null>, null, { batchSize: 7, maxAttempts: 3 });
    await append(db, 'cust_a', 'first', 1);
    await append(db, 'cust_a', 'poison', 2);
    for (const c of ['b', 'c', 'd']) await append(db, `cust_${c}`, 'ok', 3);
    await append(db, 'cust_a', 'after', 4);
    await append(db, 'cust_b', 'later', 5);
    await catchUpThroughFailures(runner, db.sql);

    const docs = new Map((await rows(db)).map((r) => [r.customer_id, JSON.parse(r.doc) as Doc]));
    assert.deepEqual(docs.get('cust_a')?.seen, ['first']);
    assert.deepEqual(docs.get('cust_b')?.seen, ['ok', 'later']);
    assert.deepEqual(docs.get('cust_d')?.seen, ['ok']);
    const parked = await listParked(db.sql, { projection: 'crm' });
    assert.deepEqual(parked.map((p) => [p.customerId, p.reason]), [['cust_a', 'failed'], ['cust_a', 'held']]);
    assert.equal(parked[0]!.attempts, 3);
    assert.match(parked[0]!.error ?? '', /cannot project poison/);
    const status = await projectionStatus(db.sql, ['crm']);
    assert.equal(status.projections[0]!.parked, 2);
    assert.equal(status.projections[0]!.lagEvents, 0);

    // Still broken: retry keeps both parked and applies nothing.
    assert.deepEqual(await drainCustomer(db.sql, runner, 'cust_a', 'test'), { customerId: 'cust_a', applied: 0, stillParked: 2 });
    fixed = true;
    assert.deepEqual(await drainCustomer(db.sql, runner, 'cust_a', 'test'), { customerId: 'cust_a', applied: 2, stillParked: 0 });
    await append(db, 'cust_a', 'next', 6);
    await catchUpThroughFailures(runner, db.sql);
    const a = (await rows(db)).find((r) => r.customer_id === 'cust_a')!;
    assert.deepEqual((JSON.parse(a.doc) as Doc).seen, ['first', 'poison', 'after', 'next']);
    assert.equal((await listParked(db.sql, { projection: 'crm' })).length, 0);
  });

  test('skip marks the event with its reason and drains what it held back', { skip }, async () => {
    fixed = false;
    const runner = new ProjectionRunner(db.sql, listing as ReadModel<unknown, unknown, null>, null, { maxAttempts: 1 });
    await append(db, 'cust_e', 'poison', 7);
    await append(db, 'cust_e', 'after', 8);
    await catchUpThroughFailures(runner, db.sql);
    const [failed] = await listParked(db.sql, { projection: 'crm' });
    const drained = await skipParked(db.sql, runner, failed!.id, 'ops@example', 'known bad import');
    assert.deepEqual(drained, { customerId: 'cust_e', applied: 1, stillParked: 0 });
    const skipped = await listParked(db.sql, { projection: 'crm', status: 'skipped' });
    assert.equal(skipped.length, 1);
    const e = (await rows(db)).find((r) => r.customer_id === 'cust_e')!;
    assert.deepEqual((JSON.parse(e.doc) as Doc).seen, ['after']);
    // Not applied, but the customer's state took it, as a rebuild's and the other read models' do
    // (a basis is shared between read models at a position, readModelBasis.ts).
    assert.equal(e.basis, await foldedBasisText(db, 'cust_e', e.position));

    // A customer whose only event is skipped: its state still starts from that event.
    await append(db, 'cust_f', 'poison', 9);
    await catchUpThroughFailures(runner, db.sql);
    const [only] = await listParked(db.sql, { projection: 'crm' });
    assert.deepEqual(await skipParked(db.sql, runner, only!.id, 'ops@example', 'known bad import'), { customerId: 'cust_f', applied: 0, stillParked: 0 });
    fixed = true;
    await append(db, 'cust_f', 'after', 10);
    await catchUpThroughFailures(runner, db.sql);
    const f = (await rows(db)).find((r) => r.customer_id === 'cust_f')!;
    assert.deepEqual((JSON.parse(f.doc) as Doc).seen, ['after']);
    assert.equal(f.basis, await foldedBasisText(db, 'cust_f', f.position));
  });

  test('two runners at once never apply an event twice', { skip }, async () => {
    fixed = true;
    for (let i = 0; i < 300; i += 1) await append(db, `cust_r${i % 10}`, `p${i}`, i);
    const one = new ProjectionRunner(db.sql, listing as ReadModel<unknown, unknown, null>, null, { batchSize: 13 });
    const two = new ProjectionRunner(db.sql, listing as ReadModel<unknown, unknown, null>, null, { batchSize: 13 });
    await Promise.all([catchUpThroughFailures(one, db.sql), catchUpThroughFailures(two, db.sql), catchUpThroughFailures(one, db.sql)]);
    for (const r of (await rows(db)).filter((x) => x.customer_id.startsWith('cust_r'))) {
      const seen = (JSON.parse(r.doc) as Doc).seen;
      assert.equal(seen.length, 30, r.customer_id);
      assert.equal(new Set(seen).size, 30);
    }
  });

  test('rebuild replays into a new table that equals the live one byte for byte, then swaps', { skip }, async () => {
    fixed = true;
    const runner = new ProjectionRunner(db.sql, listing as ReadModel<unknown, unknown, null>, null, {});
    await catchUpThroughFailures(runner, db.sql);
    // Customers whose history involved a skipped event legitimately differ after a rebuild
    // with the fix in place; every other row must come back identical.
    const untouched = (all: Awaited<ReturnType<typeof rows>>) => all.filter((r) => !['cust_a', 'cust_e', 'cust_f'].includes(r.customer_id));
    const live = untouched(await rows(db));
    const maxCursor = async () =>
      (await db.sql.query<{ c: string }>('select coalesce(max(cursor), 0)::text as c from read_crm_changes')).rows[0]!.c;
    const cursorBefore = await maxCursor();
    const result = await rebuildReadModel(db.sql, runner, { batchSize: 50 });
    assert.ok(result.events > 300);
    assert.deepEqual(untouched(await rows(db)), live);
    const e = (await rows(db)).find((r) => r.customer_id === 'cust_e')!;
    assert.deepEqual((JSON.parse(e.doc) as Doc).seen, ['poison', 'after'], 'the rebuild applies today\'s (fixed) logic');
    const { rows: feed } = await db.sql.query<{ customer_id: string }>(
      'select customer_id from read_crm_changes where cursor > $1::bigint order by cursor',
      [cursorBefore],
    );
    // The swap announces exactly the documents the rebuild changed (cust_a had been drained to
    // the same result; cust_e and cust_f had skipped their poison events).
    assert.deepEqual(feed.map((r) => r.customer_id).sort(), ['cust_e', 'cust_f']);
    await append(db, 'cust_r1', 'post-rebuild', 999);
    await catchUpThroughFailures(runner, db.sql);
    const r1 = (await rows(db)).find((r) => r.customer_id === 'cust_r1')!;
    assert.equal((JSON.parse(r1.doc) as Doc).seen.at(-1), 'post-rebuild');
  });

  test('a rebuild that parks an event says how many it parked (they are the live parked list after the swap)', { skip }, async () => {
    fixed = false;
    const runner = new ProjectionRunner(db.sql, listing as ReadModel<unknown, unknown, null>, null, { maxAttempts: 1 });
    const result = await rebuildReadModel(db.sql, runner, { batchSize: 50 });
    const live = await listParked(db.sql, { projection: 'crm' });
    const parkedNow = live.filter((p) => p.status === 'parked');
    assert.ok(result.parked > 0);
    assert.equal(result.parked, parkedNow.length);
    fixed = true;
  });
});
