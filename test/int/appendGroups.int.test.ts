import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AppendResult } from '../../services/eventstore/port.ts';
import { ConcurrencyError, IdentityConflictError } from '../../domain/errors.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { databaseTargets, describeOnEachDatabase, dropSchemaOf, openPostgres, openSecondPool, storedEvents } from '../support/databases.ts';
import { captureMetrics } from '../support/capturedMetrics.ts';
import { anEvent, streamOf } from '../support/events.ts';

// Appends queued while one is in flight share a statement and a transaction (group commit).
// Each must still get the answer it would have had alone.

const transactionOf = (result: AppendResult) => result.positions[0]! / 4096n;
const metrics = captureMetrics();
after(() => metrics.stop());

describeOnEachDatabase('grouped appends', (suite) => {
  const { skip } = suite;
  let db: LedgerDatabase;
  before(() => {
    if (!skip) db = suite.db;
  });

  test('appends queued together are judged one by one, and a refusal touches only its own append', { skip }, async () => {
    await db.store.append(streamOf('cust_g_known'), [anEvent('cust_g_known')], {
      expectedVersion: 'no_stream',
      identities: [{ kind: 'stripe', externalId: 'cus_g_taken' }],
    });
    const counted = { grouped: await metrics.counter('ledger_append_grouping', { outcome: 'grouped' }), fallback: await metrics.counter('ledger_append_grouping', { outcome: 'fallback' }) };
    // The first leaves at once; the rest queue behind it and go out as one statement.
    const [first, ...queued] = await Promise.allSettled([
      db.store.append(streamOf('cust_g_lead'), [anEvent('cust_g_lead')], { expectedVersion: 'no_stream' }),
      db.store.append(streamOf('cust_g_a'), [anEvent('cust_g_a'), anEvent('cust_g_a')], {
        expectedVersion: 'no_stream',
        idempotencyKey: { source: 'stripe', sourceEventId: 'evt_g_a' },
        identities: [{ kind: 'stripe', externalId: 'cus_g_a' }],
      }),
      // Same stream as the one before it: serially this is a version conflict, so it is here.
      db.store.append(streamOf('cust_g_a'), [anEvent('cust_g_a')], { expectedVersion: 'no_stream' }),
      // Same delivery as the first of the group: the original's answer.
      db.store.append(streamOf('cust_g_a'), [anEvent('cust_g_a')], {
        expectedVersion: 'any',
        idempotencyKey: { source: 'stripe', sourceEventId: 'evt_g_a' },
      }),
      // An id another customer owns.
      db.store.append(streamOf('cust_g_b'), [anEvent('cust_g_b')], {
        expectedVersion: 'no_stream',
        identities: [{ kind: 'stripe', externalId: 'cus_g_taken' }],
      }),
      // An id claimed earlier in the same group.
      db.store.append(streamOf('cust_g_c'), [anEvent('cust_g_c')], {
        expectedVersion: 'no_stream',
        identities: [{ kind: 'stripe', externalId: 'cus_g_a' }],
      }),
      db.store.append(streamOf('cust_g_known'), [anEvent('cust_g_known')], { expectedVersion: 1 }),
      db.store.append(streamOf('cust_g_known'), [anEvent('cust_g_known')], { expectedVersion: 'any' }),
    ]);
    assert.equal(first.status, 'fulfilled');
    const [a, sameStream, redelivery, taken, claimedInGroup, exact, any] = queued;

    assert.ok(a?.status === 'fulfilled' && !a.value.duplicate);
    assert.equal(a.value.nextVersion, 2);
    assert.ok(sameStream?.status === 'rejected' && sameStream.reason instanceof ConcurrencyError, String(sameStream));
    assert.ok(redelivery?.status === 'fulfilled' && redelivery.value.duplicate);
    assert.deepEqual(redelivery.value.eventIds, a.value.eventIds);
    assert.deepEqual(redelivery.value.positions, a.value.positions);
    assert.ok(taken?.status === 'rejected' && taken.reason instanceof IdentityConflictError);
    assert.equal(taken.reason.existingCustomerId, 'cust_g_known');
    assert.ok(claimedInGroup?.status === 'rejected' && claimedInGroup.reason instanceof IdentityConflictError);
    assert.equal(claimedInGroup.reason.existingCustomerId, 'cust_g_a');
    assert.ok(exact?.status === 'fulfilled' && exact.value.nextVersion === 2);
    assert.ok(any?.status === 'fulfilled' && any.value.nextVersion === 3);

    // One transaction for the group, positions continuing one another in arrival order.
    assert.equal(transactionOf(exact.value), transactionOf(a.value));
    assert.equal(transactionOf(any.value), transactionOf(a.value));
    assert.ok(a.value.positions[1]! < exact.value.positions[0]! && exact.value.positions[0]! < any.value.positions[0]!);

    // A refused append left nothing: no events, no identities, no delivery row.
    const stored = await storedEvents(db);
    assert.equal(stored.filter((e) => e.streamId === streamOf('cust_g_a')).length, 2);
    assert.equal(stored.filter((e) => e.streamId === streamOf('cust_g_b') || e.streamId === streamOf('cust_g_c')).length, 0);
    assert.deepEqual(await db.store.identitiesOf('cust_g_b'), []);
    assert.deepEqual(await db.store.identitiesOf('cust_g_c'), []);
    assert.equal(new Set(stored.map((e) => e.position)).size, stored.length);
    assert.equal(await metrics.counter('ledger_append_grouping', { outcome: 'fallback' }), counted.fallback, 'refusals are answers, not fallbacks');
    assert.ok((await metrics.counter('ledger_append_grouping', { outcome: 'grouped' })) >= counted.grouped + 7);
  });

  test("a delivery's inbox record is kept with its append or its duplicate's answer, and not with a refused append", { skip }, async () => {
    const record = (n: number) => ({
      source: 'stripe',
      verified: true,
      headers: { 'content-type': 'application/json' },
      body: `{"id":"evt_gi_${n}"}`,
      correlationId: `corr_gi_${n}`,
      sourceEventIds: [`evt_gi_${n}`],
    });
    const key = { source: 'stripe', sourceEventId: 'evt_gi_1' };
    const [appended, duplicate, refused] = await Promise.allSettled([
      db.store.append(streamOf('cust_gi'), [anEvent('cust_gi')], { expectedVersion: 'no_stream', idempotencyKey: key, inbox: record(1) }),
      db.store.append(streamOf('cust_gi'), [anEvent('cust_gi')], { expectedVersion: 'no_stream', idempotencyKey: key, inbox: record(2) }),
      db.store.append(streamOf('cust_gi'), [anEvent('cust_gi')], { expectedVersion: 'no_stream', inbox: record(3) }),
    ]);
    assert.ok(appended.status === 'fulfilled' && !appended.value.duplicate && appended.value.inboxId);
    assert.ok(duplicate.status === 'fulfilled' && duplicate.value.duplicate && duplicate.value.inboxId);
    assert.ok(refused.status === 'rejected' && refused.reason instanceof ConcurrencyError);

    const { rows } = await db.sql.query<{ id: string; outcome: string; correlation_id: string; body: string; source_event_ids: string[] }>(
      `select id::text as id, outcome, correlation_id, body, source_event_ids from ledger_inbox where correlation_id like 'corr_gi_%' order by id`,
    );
    assert.deepEqual(
      rows.map((r) => [r.id, r.outcome, r.correlation_id, r.body, r.source_event_ids]),
      [
        [appended.value.inboxId, 'appended', 'corr_gi_1', '{"id":"evt_gi_1"}', ['evt_gi_1']],
        [duplicate.value.inboxId, 'duplicate', 'corr_gi_2', '{"id":"evt_gi_2"}', ['evt_gi_2']],
      ],
      'the refused append kept no inbox row',
    );
    const [stored] = await db.sql.query<{ tx_events: string; tx_inbox: string }>(
      `select (select min(transaction_id::text::bigint % 4294967296)::text from ledger_events where stream_id = $1) as tx_events,
              (select xmin::text from ledger_inbox where id = $2::bigint) as tx_inbox`,
      [streamOf('cust_gi'), appended.value.inboxId],
    ).then((r) => r.rows);
    assert.equal(stored?.tx_inbox, stored?.tx_events, 'one transaction, one commit');
  });

  // Version 3 judges a group of independent items as a set; version 2, kept as
  // ledger_append_batch_serial, judges item after item. On the same stored state and the same
  // items, both must answer and write the same, down to each position's place in its transaction.
  test('a group of independent appends judged as a set answers and writes exactly what item-by-item judging does', { skip }, async () => {
    await db.store.append(streamOf('cust_set_known'), [anEvent('cust_set_known'), anEvent('cust_set_known')], {
      expectedVersion: 'no_stream',
      idempotencyKey: { source: 'stripe', sourceEventId: 'evt_set_old' },
      identities: [{ kind: 'stripe', externalId: 'cus_set_taken' }],
    });
    await db.store.append(streamOf('cust_set_mine'), [anEvent('cust_set_mine'), anEvent('cust_set_mine')], {
      expectedVersion: 'no_stream',
      identities: [{ kind: 'email', externalId: 'mine@example.com' }],
    });
    await db.store.append(streamOf('cust_set_exact'), [anEvent('cust_set_exact')], { expectedVersion: 'no_stream' });
    await db.store.append(streamOf('cust_set_stale'), [anEvent('cust_set_stale'), anEvent('cust_set_stale')], { expectedVersion: 'no_stream' });
    let n = 0;
    const item = (customer: string, mode: string, expected: number | null, extra: Record<string, unknown> = {}, events = 1) => {
      n += 1;
      return {
        stream: streamOf(customer),
        mode,
        expected,
        customer,
        events: Array.from({ length: events }, (_, i) => ({
          event_id: `018f0000-0000-7000-8000-${String(n * 10 + i).padStart(12, '0')}`,
          type: 'TestFactRecorded',
          schema_version: 1,
          data: { n, i },
          metadata: anEvent(customer).metadata,
        })),
        source: null,
        source_event_id: null,
        identities: null,
        inbox: {
          source: 'stripe',
          verified: true,
          headers: { 'content-type': 'application/json' },
          body: `{"n":${n}}`,
          detail: null,
          correlation_id: `corr_set_${n}`,
          source_event_ids: [`evt_set_${n}`],
        },
        ...extra,
      };
    };
    const items = [
      item('cust_set_new', 'no_stream', null, { source: 'stripe', source_event_id: 'evt_set_1', identities: [{ kind: 'stripe', externalId: 'cus_set_new' }, { kind: 'email', externalId: 'new@example.com' }] }, 3),
      // A delivery committed before: the original's answer, its inbox record as a duplicate.
      item('cust_set_other', 'no_stream', null, { source: 'stripe', source_event_id: 'evt_set_old' }),
      item('cust_set_exact', 'exact', 1),
      item('cust_set_stale', 'no_stream', null),
      item('cust_set_claims', 'no_stream', null, { identities: [{ kind: 'stripe', externalId: 'cus_set_taken' }] }),
      // Version 2 exists: expecting 1 is stale.
      item('cust_set_known', 'exact', 1),
      // An id this customer already holds is no conflict.
      item('cust_set_mine', 'exact', 2, { identities: [{ kind: 'email', externalId: 'mine@example.com' }] }, 2),
      item('cust_set_plain', 'no_stream', null, { inbox: null }),
    ];
    const { rows: flags } = await db.sql.query<{ independent: boolean }>('select ledger_append_items_independent($1::jsonb) as independent', [JSON.stringify(items)]);
    assert.equal(flags[0]!.independent, true, 'the set path is the one under test');

    class Rollback extends Error {
      constructor(readonly outcome: unknown) {
        super('rollback');
      }
    }
    const judge = async (fn: string) => {
      try {
        await db.sql.transaction(async (tx) => {
          const { rows: answers } = await tx.query<Record<string, unknown>>(
            `select item, outcome, stream_version::text as stream_version, (select array_agg(p % 4096) from unnest(positions) p)::text as places,
                    event_ids::text, conflict_customer, conflict_kind, inbox_id is not null as has_inbox
               from ${fn}($1::jsonb) order by item`,
            [JSON.stringify(items)],
          );
          const { rows: written } = await tx.query<Record<string, unknown>>(
            `select 'event' as what, stream_id || ' v' || version || ' @' || (position % 4096) || ' ' || event_id || ' ' || data::text as row
               from ledger_events where transaction_id = pg_current_xact_id()
             union all
             select 'delivery', source || ':' || source_event_id || ' ' || stream_id || ' ' || (select array_agg(p % 4096) from unnest(positions) p)::text || ' ' || event_ids::text
               from ledger_deliveries where xmin::text::bigint = pg_current_xact_id()::text::bigint % 4294967296
             union all
             select 'identity', kind || ':' || external_id || ' ' || customer_id
               from ledger_identities where xmin::text::bigint = pg_current_xact_id()::text::bigint % 4294967296
             union all
             select 'inbox', outcome || ' ' || correlation_id || ' ' || body || ' ' || source_event_ids::text || ' ' || headers::text
               from ledger_inbox where xmin::text::bigint = pg_current_xact_id()::text::bigint % 4294967296
             order by 1, 2`,
          );
          throw new Rollback({ answers, written });
        });
      } catch (error) {
        if (error instanceof Rollback) return error.outcome as { answers: Record<string, unknown>[]; written: Record<string, unknown>[] };
        throw error;
      }
      throw new Error('unreachable');
    };
    const set = await judge('ledger_append_batch');
    const serial = await judge('ledger_append_batch_serial');
    assert.deepEqual(set, serial);
    assert.deepEqual(
      set.answers.map((a) => a.outcome),
      ['appended', 'duplicate', 'appended', 'version_conflict', 'identity_conflict', 'version_conflict', 'appended', 'appended'],
    );
    assert.equal(set.answers[4]!.conflict_customer, 'cust_set_known');
    assert.deepEqual(set.answers.map((a) => a.places), ['{0,1,2}', '{0,1}', '{3}', null, null, null, '{4,5}', '{6}']);
    assert.equal(set.written.filter((w) => w.what === 'inbox').length, 4, 'appended and duplicate items keep their record; refused ones none');
  });

  test('a group whose items depend on one another is judged item by item', { skip }, async () => {
    const base = { mode: 'no_stream', expected: null, customer: 'c', events: [], source: 'stripe', source_event_id: null, identities: null, inbox: null };
    const independent = async (items: Record<string, unknown>[]) =>
      (await db.sql.query<{ independent: boolean }>('select ledger_append_items_independent($1::jsonb) as independent', [JSON.stringify(items)])).rows[0]!.independent;
    assert.equal(
      await independent([{ ...base, stream: 'a', customer: 'c1' }, { ...base, stream: 'b', customer: 'c2', source_event_id: 'evt_1' }, { ...base, stream: 'c', customer: 'c3' }]),
      true,
    );
    assert.equal(await independent([{ ...base, stream: 'a', customer: 'c1' }, { ...base, stream: 'a', customer: 'c2', mode: 'exact', expected: 1 }]), false, 'one stream twice');
    assert.equal(await independent([{ ...base, stream: 'a', customer: 'c1' }, { ...base, stream: 'b', customer: 'c1' }]), false, 'one customer twice');
    assert.equal(await independent([{ ...base, stream: 'a', customer: 'c1', source_event_id: 'evt_1' }, { ...base, stream: 'b', customer: 'c2', source_event_id: 'evt_1' }]), false, 'one delivery twice');
    const claim = [{ kind: 'stripe', externalId: 'cus_1' }];
    assert.equal(await independent([{ ...base, stream: 'a', customer: 'c1', identities: claim }, { ...base, stream: 'b', customer: 'c2', identities: claim }]), false, 'one id claimed twice');
    assert.equal(await independent([{ ...base, stream: 'a', mode: 'any' }]), false, "'any' reads its version under a lock");
    assert.equal(await independent([]), false);
  });

  test('a group holding more events than one transaction can number is split, and every append lands', { skip }, async () => {
    const big = (id: string) => Array.from({ length: 1500 }, () => anEvent(id));
    const results = await Promise.all(
      ['cust_g_big0', 'cust_g_big1', 'cust_g_big2', 'cust_g_big3'].map((id) =>
        db.store.append(streamOf(id), big(id), { expectedVersion: 'no_stream' }),
      ),
    );
    for (const result of results) assert.equal(result.nextVersion, 1500);
    const positions = results.flatMap((r) => r.positions);
    assert.equal(new Set(positions).size, 6000);
  });
});

// Two service processes (two pools) append to the same streams and claim the same ids: a
// group that loses a race with the other process's group is re-run append by append.
describe('grouped appends racing another process on PostgreSQL', async () => {
  const skip = await databaseTargets.find((t) => t.name === 'postgres')!.skip();
  let one: LedgerDatabase | undefined;
  let two: LedgerDatabase | undefined;
  before(async () => {
    if (skip) return;
    one = await openPostgres(8);
    two = await openSecondPool(one, 8);
  });
  after(async () => {
    await two?.close();
    if (!one) return;
    await dropSchemaOf(one);
    await one.close();
  });

  // Until a group statement of process one waits on a row lock of process two.
  async function waitUntilAGroupWaits(): Promise<void> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const { rows } = await one!.sql.query<{ n: string }>(
        `select count(*)::text as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%ledger_append_batch%'`,
      );
      if (rows[0]!.n !== '0') return;
      assert.ok(Date.now() < deadline, 'the group statement never waited on the uncommitted row');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  test('a group blocked by another transaction’s uncommitted append to its stream answers a version conflict, not an error', { skip }, async () => {
    const stream = streamOf('cust_blocked');
    let group: Promise<PromiseSettledResult<AppendResult>[]> | undefined;
    const fallbacks = await metrics.counter('ledger_append_grouping', { outcome: 'fallback' });
    await two!.sql.transaction(async (tx) => {
      // Another writer has appended version 1 and not committed yet: the group cannot see it.
      await tx.query(`select * from ledger_append($1, 'no_stream', null, 'cust_blocked', $2::jsonb, null, null, null)`, [
        stream,
        JSON.stringify([{ event_id: '018f0000-0000-7000-8000-000000000001', type: 'TestFactRecorded', schema_version: 1, data: {}, metadata: anEvent('cust_blocked').metadata }]),
      ]);
      group = Promise.allSettled([
        one!.store.append(stream, [anEvent('cust_blocked')], { expectedVersion: 'no_stream' }),
        one!.store.append(streamOf('cust_unblocked'), [anEvent('cust_unblocked')], { expectedVersion: 'no_stream' }),
      ]);
      await waitUntilAGroupWaits();
    });
    const [blocked, other] = await group!;
    assert.ok(blocked?.status === 'rejected' && blocked.reason instanceof ConcurrencyError, String(blocked?.status === 'rejected' ? blocked.reason : 'appended'));
    assert.equal(blocked.reason.actual, 1);
    assert.ok(other?.status === 'fulfilled' && other.value.nextVersion === 1);
    assert.equal((await one!.store.readStream(stream)).length, 1, 'only the other writer’s event');
    assert.ok((await metrics.counter('ledger_append_grouping', { outcome: 'fallback' })) > fallbacks, 'the fallback is counted, so it shows in /metrics');
  });

  // The set path's claim check reads the table as its statement found it; an id another process
  // claims and commits while the group waits on it must still be refused, never silently shared.
  test('a group claiming an id that another process claims and commits meanwhile answers an identity conflict', { skip }, async () => {
    let group: Promise<PromiseSettledResult<AppendResult>[]> | undefined;
    await two!.sql.transaction(async (tx) => {
      await tx.query(`select * from ledger_append($1, 'no_stream', null, 'cust_claim_first', $2::jsonb, null, null, $3::jsonb)`, [
        streamOf('cust_claim_first'),
        JSON.stringify([{ event_id: '018f0000-0000-7000-8000-000000000003', type: 'TestFactRecorded', schema_version: 1, data: {}, metadata: anEvent('cust_claim_first').metadata }]),
        JSON.stringify([{ kind: 'stripe', externalId: 'cus_claim_race' }]),
      ]);
      // The first append leaves alone; the four behind it go out as one group, judged as a set.
      group = Promise.allSettled([
        ...['lead', 'a', 'b'].map((n) => one!.store.append(streamOf(`cust_claim_${n}`), [anEvent(`cust_claim_${n}`)], { expectedVersion: 'no_stream' })),
        one!.store.append(streamOf('cust_claim_second'), [anEvent('cust_claim_second')], {
          expectedVersion: 'no_stream',
          identities: [{ kind: 'stripe', externalId: 'cus_claim_race' }],
        }),
        one!.store.append(streamOf('cust_claim_c'), [anEvent('cust_claim_c')], { expectedVersion: 'no_stream' }),
      ]);
      await waitUntilAGroupWaits();
    });
    const settled = await group!;
    assert.ok(settled.filter((_, i) => i !== 3).every((r) => r.status === 'fulfilled'), 'the other appends of the group land');
    const second = settled[3];
    assert.ok(second?.status === 'rejected' && second.reason instanceof IdentityConflictError, String(second?.status === 'rejected' ? second.reason : 'appended'));
    assert.equal(second.reason.existingCustomerId, 'cust_claim_first');
    assert.equal(await one!.store.resolveIdentity('stripe', 'cus_claim_race'), 'cust_claim_first');
    assert.equal((await one!.store.readStream(streamOf('cust_claim_second'))).length, 0, 'the refused append left no event');
  });

  test('the same delivery committed by another process while a group waits on it: the group answers the original', { skip }, async () => {
    const key = { source: 'stripe', sourceEventId: 'evt_cross_process' };
    let original = '';
    let group: Promise<AppendResult> | undefined;
    await two!.sql.transaction(async (tx) => {
      const { rows } = await tx.query<{ event_ids: string[] }>(
        `select event_ids::text[] as event_ids from ledger_append($1, 'no_stream', null, 'cust_first', $2::jsonb, $3, $4, null)`,
        [
          streamOf('cust_first'),
          JSON.stringify([{ event_id: '018f0000-0000-7000-8000-000000000002', type: 'TestFactRecorded', schema_version: 1, data: {}, metadata: anEvent('cust_first').metadata }]),
          key.source,
          key.sourceEventId,
        ],
      );
      original = rows[0]!.event_ids[0]!;
      group = one!.store.append(streamOf('cust_second'), [anEvent('cust_second')], { expectedVersion: 'no_stream', idempotencyKey: key });
      await waitUntilAGroupWaits();
    });
    const answer = await group!;
    assert.equal(answer.duplicate, true);
    assert.deepEqual(answer.eventIds, [original]);
    assert.equal((await one!.store.readStream(streamOf('cust_second'))).length, 0, 'nothing stored twice');
  });

  test('first appends to 40 new streams from both processes at once: one wins each stream and each id', { skip }, async () => {
    const ids = Array.from({ length: 40 }, (_, i) => i);
    const attempt = (db: LedgerDatabase, process: string) =>
      Promise.allSettled(
        ids.map((i) =>
          db.store.append(streamOf(`cust_r${i}_${process}`), [anEvent(`cust_r${i}_${process}`)], {
            expectedVersion: 'no_stream',
            identities: [{ kind: 'stripe', externalId: `cus_r${i}` }],
          }),
        ),
      );
    const shared = (db: LedgerDatabase) =>
      Promise.allSettled(ids.map((i) => db.store.append(streamOf(`cust_s${i}`), [anEvent(`cust_s${i}`)], { expectedVersion: 'no_stream' })));
    const [claimsOne, claimsTwo, streamsOne, streamsTwo] = await Promise.all([attempt(one!, 'one'), attempt(two!, 'two'), shared(one!), shared(two!)]);

    for (const i of ids) {
      const results = [claimsOne[i]!, claimsTwo[i]!];
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, `cus_r${i}: one owner`);
      const lost = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
      assert.ok(lost.reason instanceof IdentityConflictError, String(lost.reason));
      const owner = await one!.store.resolveIdentity('stripe', `cus_r${i}`);
      assert.equal(lost.reason.existingCustomerId, owner);

      const stream = [streamsOne[i]!, streamsTwo[i]!];
      assert.equal(stream.filter((r) => r.status === 'fulfilled').length, 1, `cust_s${i}: one first append`);
      const refused = stream.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
      assert.ok(refused.reason instanceof ConcurrencyError, String(refused.reason));
    }
    const stored = (await storedEvents(one!)).filter((e) => /^customer-cust_[rs]\d/.test(e.streamId));
    assert.equal(stored.length, 80, 'one event per id and per shared stream, nothing doubled, nothing lost');
  });
});
