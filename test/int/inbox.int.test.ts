import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { pruneInbox, readDeliveries, recordDelivery, safeHeaders } from '../../services/ingest/inbox.ts';
import { describeOnEachDatabase } from '../support/databases.ts';

describeOnEachDatabase('raw inbox', (suite) => {
  const { skip } = suite;
  let db: LedgerDatabase;
  before(() => {
    if (!skip) db = suite.db;
  });

  test('keeps the body and safe headers, never the signature', { skip }, async () => {
    const headers = safeHeaders({
      'content-type': 'application/json',
      'stripe-signature': 't=1,v1=abc',
      'x-hubspot-signature-v3': 'sig',
      'x-zendesk-webhook-signature': 'sig',
      authorization: 'Bearer key-app',
      'x-correlation-id': 'corr-1',
    });
    assert.deepEqual(headers, { 'content-type': 'application/json', 'x-correlation-id': 'corr-1' });
    const id = await recordDelivery(db.sql, {
      source: 'stripe',
      verified: true,
      headers,
      body: '{"id":"evt_1"}',
      outcome: 'appended',
      correlationId: 'corr-1',
      sourceEventIds: ['evt_1'],
    });
    const [stored] = await readDeliveries(db.sql, { id });
    assert.equal(stored?.body, '{"id":"evt_1"}');
    assert.deepEqual(stored?.headers, headers);
  });

  // A provider's payload passes the TOAST threshold and is compressed on every delivery: with
  // lz4 where the server has it (0015), and it still reads back byte for byte.
  test('a large body is kept whole, compressed with lz4 on PostgreSQL', { skip }, async () => {
    const body = JSON.stringify({ id: 'evt_large', data: { object: { lines: Array.from({ length: 200 }, (_, i) => ({ id: `il_${i}`, amount: i * 100, description: `Line ${i}` })) } } });
    assert.ok(body.length > 4_000);
    const id = await recordDelivery(db.sql, { source: 'stripe', verified: true, headers: {}, body, outcome: 'appended', correlationId: 'corr-large', sourceEventIds: ['evt_large'] });
    const [stored] = await readDeliveries(db.sql, { id });
    assert.equal(stored?.body, body);
    if (db.sql.kind === 'postgres') {
      const { rows } = await db.sql.query<{ method: string | null }>('select pg_column_compression(body) as method from ledger_inbox where id = $1::bigint', [id]);
      assert.equal(rows[0]?.method, 'lz4');
    }
  });

  // Deliveries recorded at once share one insert (inbox.ts): each caller must get its own row's id.
  test('concurrent deliveries are written together and each gets the id of its own row', { skip }, async () => {
    const entries = Array.from({ length: 150 }, (_, i) => ({
      source: 'stripe' as const,
      verified: true,
      headers: { 'x-correlation-id': `batch-${i}` },
      body: `{"id":"evt_batch_${i}"}`,
      outcome: 'appended' as const,
      correlationId: `batch-${i}`,
      sourceEventIds: [`evt_batch_${i}`],
      ...(i % 3 === 0 ? { detail: { ignored: [{ sourceEventId: `evt_batch_${i}`, reason: 'test' }] } } : {}),
    }));
    const ids = await Promise.all(entries.map((entry) => recordDelivery(db.sql, entry)));
    assert.equal(new Set(ids).size, entries.length);
    for (const [i, id] of ids.entries()) {
      const [stored] = await readDeliveries(db.sql, { id });
      assert.equal(stored?.body, `{"id":"evt_batch_${i}"}`);
      assert.deepEqual(stored?.headers, { 'x-correlation-id': `batch-${i}` });
    }
  });

  test('retention removes deliveries older than the setting and keeps the rest', { skip }, async () => {
    const recent = await recordDelivery(db.sql, {
      source: 'crm', verified: true, headers: {}, body: '[]', outcome: 'ignored', correlationId: 'c', sourceEventIds: [],
    });
    const old = await recordDelivery(db.sql, {
      source: 'crm', verified: true, headers: {}, body: '[]', outcome: 'ignored', correlationId: 'c', sourceEventIds: [],
    });
    await db.sql.query(`update ledger_inbox set received_at = now() - interval '31 days' where id = $1::bigint`, [old]);
    assert.ok((await pruneInbox(db.sql, 30)) >= 1);
    assert.equal((await readDeliveries(db.sql, { id: old })).length, 0);
    assert.equal((await readDeliveries(db.sql, { id: recent })).length, 1);
  });

  test('retention prunes a backlog larger than one batch, batch after batch', { skip }, async () => {
    const record = () => recordDelivery(db.sql, { source: 'crm', verified: true, headers: {}, body: '[]', outcome: 'ignored', correlationId: 'c', sourceEventIds: [] });
    const old = await Promise.all(Array.from({ length: 7 }, record));
    const recent = await record();
    await db.sql.query(`update ledger_inbox set received_at = now() - interval '31 days' where id = any($1::bigint[])`, [old]);
    assert.equal(await pruneInbox(db.sql, 30, 3), 7);
    for (const id of old) assert.equal((await readDeliveries(db.sql, { id })).length, 0);
    assert.equal((await readDeliveries(db.sql, { id: recent })).length, 1);
  });
});
