import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listAudit, recordAudit } from '../../services/admin/auditLog.ts';
import { readDeliveries, recordDelivery } from '../../services/ingest/inbox.ts';
import { listParked } from '../../services/projector/parkedEvents.ts';
import { describeOnEachDatabase } from '../support/databases.ts';

// Ids and positions leave SQL as text; ordering by that text put '10' before '9' (see
// test/unit/sqlTextOrdering.unit.test.ts for the rule). These are the listings users page through.
describeOnEachDatabase('listings past nine rows keep numeric order', (suite) => {
  const { skip } = suite;

  test('the admin audit log: newest first, and `before` pages to the older entries', { skip }, async () => {
    const { db } = suite;
    for (let n = 1; n <= 12; n += 1) {
      await recordAudit(db.sql, { principal: null, role: 'admin', method: 'POST', route: `/r${n}`, target: null, reason: null, status: 200, correlationId: null, detail: null });
    }
    const first = await listAudit(db.sql, { limit: 5 });
    assert.deepEqual(first.entries.map((e) => e.route), ['/r12', '/r11', '/r10', '/r9', '/r8']);
    assert.ok(first.next);
    const second = await listAudit(db.sql, { limit: 10, before: first.next });
    assert.deepEqual(second.entries.map((e) => e.route), ['/r7', '/r6', '/r5', '/r4', '/r3', '/r2', '/r1']);
  });

  test('the inbox: deliveries in the order they were received', { skip }, async () => {
    const { db } = suite;
    const ids: string[] = [];
    for (let n = 1; n <= 12; n += 1) {
      ids.push(await recordDelivery(db.sql, { source: 'stripe', verified: true, headers: {}, body: `{"n":${n}}`, outcome: 'appended', correlationId: `c${n}`, sourceEventIds: [`evt_${n}`] }));
    }
    const read = await readDeliveries(db.sql, { since: '2000-01-01T00:00:00Z', source: 'stripe', limit: 12 });
    assert.deepEqual(read.map((d) => d.id), ids);
    assert.deepEqual((await readDeliveries(db.sql, { since: '2000-01-01T00:00:00Z', afterId: ids[8]!, limit: 2 })).map((d) => d.id), ids.slice(9, 11));
  });

  test('parked events: by position, across a power of ten', { skip }, async () => {
    const { db } = suite;
    for (const position of [100, 99, 1000, 9]) {
      await db.sql.query(
        `insert into ledger_parked_events (projection, position, event_id, customer_id, reason, error, attempts)
         values ('crm', $1::bigint, gen_random_uuid(), 'cust_order', 'failed', 'boom', 5)`,
        [position],
      );
    }
    assert.deepEqual((await listParked(db.sql, { projection: 'crm' })).map((p) => p.position), ['9', '99', '100', '1000']);
  });
});
