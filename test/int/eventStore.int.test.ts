import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ConcurrencyError, IdentityConflictError } from '../../domain/errors.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { describeOnEachDatabase, untilOlderTransactionsEnd } from '../support/databases.ts';
import { anEvent, streamOf } from '../support/events.ts';

describeOnEachDatabase('event store', (suite) => {
  const { skip } = suite;
  let db: LedgerDatabase;
  before(() => {
    if (!skip) db = suite.db;
  });

  test('appends and reads a stream in version order', { skip }, async () => {
    const stream = streamOf('cust_roundtrip');
    const first = await db.store.append(stream, [anEvent('cust_roundtrip'), anEvent('cust_roundtrip')], { expectedVersion: 'no_stream' });
    assert.equal(first.nextVersion, 2);
    const second = await db.store.append(stream, [anEvent('cust_roundtrip', 'Other')], { expectedVersion: 2 });
    assert.equal(second.nextVersion, 3);
    const events = await db.store.readStream(stream);
    assert.deepEqual(events.map((e) => e.version), [1, 2, 3]);
    assert.deepEqual(events.map((e) => e.type), ['TestFactRecorded', 'TestFactRecorded', 'Other']);
    assert.ok(events[0]!.position < events[2]!.position);
    assert.equal(events[2]!.metadata.customerId, 'cust_roundtrip');
    assert.deepEqual(await db.store.readStream(stream, { fromVersion: 2, toVersion: 2 }).then((e) => e.map((x) => x.version)), [2]);
  });

  test("'no_stream' on an existing stream and a stale exact version are refused", { skip }, async () => {
    const stream = streamOf('cust_expect');
    await db.store.append(stream, [anEvent('cust_expect')], { expectedVersion: 'no_stream' });
    await assert.rejects(db.store.append(stream, [anEvent('cust_expect')], { expectedVersion: 'no_stream' }), (e: unknown) => {
      assert.ok(e instanceof ConcurrencyError);
      assert.equal(e.actual, 1);
      return true;
    });
    await assert.rejects(db.store.append(stream, [anEvent('cust_expect')], { expectedVersion: 5 }), ConcurrencyError);
    await assert.rejects(db.store.append(streamOf('cust_none'), [anEvent('cust_none')], { expectedVersion: 1 }), ConcurrencyError);
    const any = await db.store.append(stream, [anEvent('cust_expect')], { expectedVersion: 'any' });
    assert.equal(any.nextVersion, 2);
    assert.equal((await db.store.readStream(stream)).length, 2);
  });

  test('50 concurrent appends at one expected version: exactly one wins', { skip }, async () => {
    const stream = streamOf('cust_race');
    await db.store.append(stream, [anEvent('cust_race')], { expectedVersion: 'no_stream' });
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => db.store.append(stream, [anEvent('cust_race')], { expectedVersion: 1 })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 49);
    for (const r of lost) assert.ok(r.reason instanceof ConcurrencyError, String(r.reason));
    assert.equal((await db.store.readStream(stream)).length, 2);
  });

  test('the same delivery appended 100 times concurrently is stored once; every caller gets the original', { skip }, async () => {
    const key = { source: 'stripe', sourceEventId: 'evt_dup_1' };
    const results = await Promise.all(
      Array.from({ length: 100 }, () =>
        db.store.append(streamOf('cust_dup'), [anEvent('cust_dup'), anEvent('cust_dup', 'Decision')], {
          expectedVersion: 'any',
          idempotencyKey: key,
        }),
      ),
    );
    assert.equal(results.filter((r) => !r.duplicate).length, 1);
    const original = results.find((r) => !r.duplicate)!;
    for (const r of results) {
      assert.deepEqual(r.eventIds, original.eventIds);
      assert.deepEqual(r.positions, original.positions);
      assert.equal(r.nextVersion, original.nextVersion);
    }
    assert.equal((await db.store.readStream(streamOf('cust_dup'))).length, 2);
  });

  test('a command context reads the seen delivery, the owners and the strongest owner’s stream in one go', { skip }, async () => {
    const key = { source: 'stripe', sourceEventId: 'evt_ctx_1' };
    await db.store.append(streamOf('cust_ctxa'), [anEvent('cust_ctxa'), anEvent('cust_ctxa', 'Other', { nested: { a: [1, 'x'] } })], {
      expectedVersion: 'no_stream',
      idempotencyKey: key,
      identities: [{ kind: 'email', externalId: 'ctx@example.com' }],
    });
    await db.store.append(streamOf('cust_ctxb'), [anEvent('cust_ctxb')], {
      expectedVersion: 'no_stream',
      identities: [{ kind: 'stripe', externalId: 'cus_ctx' }],
    });
    const claims = [
      { kind: 'stripe', externalId: 'cus_ctx' },
      { kind: 'email', externalId: 'ctx@example.com' },
      { kind: 'crm', externalId: 'unknown' },
    ];
    const prefix = streamOf('');

    const seen = await db.store.loadCommandContext({ idempotencyKey: key, claims, streamIdPrefix: prefix });
    assert.deepEqual(seen.seen, await db.store.findDelivery(key));
    assert.equal(seen.stream, undefined, 'a re-delivery reads no stream');

    // The strongest owned claim names the stream; every owner is reported.
    const fresh = await db.store.loadCommandContext({ idempotencyKey: { source: 'stripe', sourceEventId: 'evt_ctx_2' }, claims, streamIdPrefix: prefix });
    assert.equal(fresh.seen, undefined);
    assert.deepEqual(fresh.owners, await db.store.resolveIdentities(claims));
    assert.equal(fresh.stream?.ownerId, 'cust_ctxb');
    assert.deepEqual(fresh.stream?.events, await db.store.readStream(streamOf('cust_ctxb')));

    // An explicit owner wins; its events read exactly as readStream reads them.
    const explicit = await db.store.loadCommandContext({ claims, ownerId: 'cust_ctxa', streamIdPrefix: prefix });
    assert.deepEqual(explicit.stream?.events, await db.store.readStream(streamOf('cust_ctxa')));
    assert.equal(explicit.stream?.events.length, 2);

    const nobody = await db.store.loadCommandContext({ claims: [{ kind: 'crm', externalId: 'unknown' }], streamIdPrefix: prefix });
    assert.deepEqual(nobody, { owners: new Map() });
  });

  test('UPDATE, DELETE and TRUNCATE on the events table are refused by the database', { skip }, async () => {
    await db.store.append(streamOf('cust_immutable'), [anEvent('cust_immutable')], { expectedVersion: 'no_stream' });
    await assert.rejects(db.sql.query(`update ledger_events set type = 'Forged'`), /append-only/);
    await assert.rejects(db.sql.query(`delete from ledger_events`), /append-only/);
    await assert.rejects(db.sql.query(`truncate ledger_events`), /append-only/);
    assert.equal((await db.store.readStream(streamOf('cust_immutable')))[0]!.type, 'TestFactRecorded');
  });

  test('two concurrent first events for one new external id create one customer', { skip }, async () => {
    const claim = [{ kind: 'stripe', externalId: 'cus_race' }];
    const attempts = await Promise.allSettled(
      ['cust_racea', 'cust_raceb'].map((id) =>
        db.store.append(streamOf(id), [anEvent(id)], { expectedVersion: 'no_stream', identities: claim }),
      ),
    );
    const winners = attempts.filter((a) => a.status === 'fulfilled');
    const losers = attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
    assert.equal(winners.length, 1);
    assert.equal(losers.length, 1);
    const owner = await db.store.resolveIdentity('stripe', 'cus_race');
    assert.ok(losers[0]!.reason instanceof IdentityConflictError);
    assert.equal(losers[0]!.reason.existingCustomerId, owner);
    const loserId = owner === 'cust_racea' ? 'cust_raceb' : 'cust_racea';
    assert.equal((await db.store.readStream(streamOf(loserId))).length, 0, 'nothing appended for the loser');
    assert.equal(await db.store.streamVersion(streamOf(loserId)), undefined);
    assert.deepEqual(await db.store.identitiesOf(owner!), claim);
  });

  test('readAll pages through the global log in position order', { skip }, async () => {
    // Every event so far, also those another test file's open transaction would hold back.
    await untilOlderTransactionsEnd(db.sql);
    const seen: bigint[] = [];
    let cursor = 0n;
    for (;;) {
      const batch = await db.store.readAll({ after: cursor, limit: 3 });
      if (batch.length === 0) break;
      for (const e of batch) seen.push(e.position);
      cursor = batch.at(-1)!.position;
    }
    assert.ok(seen.length > 5);
    assert.deepEqual([...seen].sort((a, b) => (a < b ? -1 : 1)), seen);
    assert.equal(new Set(seen).size, seen.length);
    assert.equal(await db.store.headPosition(), seen.at(-1));
  });
});
