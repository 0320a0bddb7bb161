import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { describeGenericPlans, flushStatistics } from '../support/databases.ts';
import { anEvent, streamOf } from '../support/events.ts';

// Regression: ledger_append_batch's set path (appendBatchSetSchema.ts) checked versions and
// claims with EXISTS, which the planner may answer with a hash of the whole table instead of a
// probe per item. A connection keeps the plan it made first, so once the tables had a few
// thousand rows every group scanned all of ledger_events: in the ingest bench PostgreSQL's CPU
// per delivery rose 13 % instead of falling, and it would have grown with the log. Generic plans
// from the first call and one connection, so the counters see exactly this session's scans.

const TABLES = ['ledger_events', 'ledger_identities', 'ledger_deliveries', 'ledger_inbox'];

async function seqScans(db: LedgerDatabase): Promise<Record<string, number>> {
  await flushStatistics(db);
  const { rows } = await db.sql.query<{ relname: string; seq_scan: string }>(
    `select relname, seq_scan::text from pg_stat_user_tables where relname = any($1::text[]) and schemaname = current_schema()`,
    [TABLES],
  );
  return Object.fromEntries(rows.map((r) => [r.relname, Number(r.seq_scan)]));
}

// Eight appends queued together on the one connection (a group after the first round), each for
// a known customer after round 1: exact version, a delivery key, a known and a new identity id,
// the inbox record.
function appendRounds(ledger: LedgerDatabase) {
  const customers = Array.from({ length: 8 }, (_, i) => `cust_plan${i}`);
  let round = 0;
  return async () => {
    round += 1;
    const results = await Promise.all(
      customers.map((customer) =>
        ledger.store.append(streamOf(customer), [anEvent(customer)], {
          expectedVersion: round === 1 ? 'no_stream' : round - 1,
          idempotencyKey: { source: 'stripe', sourceEventId: `evt_${customer}_${round}` },
          identities: [{ kind: 'stripe', externalId: `cus_${customer}` }, { kind: 'stripe_invoice', externalId: `in_${customer}_${round}` }],
          inbox: { source: 'stripe', verified: true, headers: {}, body: '{}', correlationId: `corr_${customer}_${round}`, sourceEventIds: [`evt_${customer}_${round}`] },
        }),
      ),
    );
    assert.ok(results.every((r) => !r.duplicate && r.nextVersion === round));
  };
}

const SEED_SQL = `insert into ledger_events (position, transaction_id, stream_id, version, event_id, type, schema_version, data, metadata)
  select n, '1'::xid8, 'customer-seed' || n, 1, gen_random_uuid(), 'TestFactRecorded', 1, '{}', '{}' from generate_series(1, 5000) n;
  insert into ledger_identities (kind, external_id, customer_id) select 'stripe', 'cus_seed' || n, 'seed' || n from generate_series(1, 5000) n;
  insert into ledger_deliveries (source, source_event_id, stream_id, positions, event_ids)
  select 'stripe', 'evt_seed' || n, 'customer-seed' || n, array[n::bigint], array[gen_random_uuid()] from generate_series(1, 5000) n;`;

describeGenericPlans('append lookups planned on a new, empty store (PostgreSQL)', (suite) => {
  // A new deployment: its sessions plan the group append while every table is empty, and keep
  // that plan as the tables fill. A probe planned as a sequential scan of an empty table then
  // reads the whole table on every call (the set path read all of ledger_deliveries per item).
  test('a group of appends still probes the indexes once the tables have grown', { skip: suite.skip }, async () => {
    const ledger = suite.db;
    await ledger.sql.query('analyze ledger_events; analyze ledger_identities; analyze ledger_deliveries; analyze ledger_inbox');
    const appendRound = appendRounds(ledger);
    await appendRound();
    await appendRound();
    await ledger.sql.query(SEED_SQL);
    const before = await seqScans(ledger);
    for (let i = 0; i < 3; i += 1) await appendRound();
    const after = await seqScans(ledger);
    for (const table of TABLES) assert.equal(after[table]! - before[table]!, 0, `sequential scans of ${table}`);
  });
});

describeGenericPlans('single appends planned on a new, empty store (PostgreSQL)', (suite) => {
  // ledger_append answers the items of a group that lost a race, one by one; a session that
  // first ran it while the store was empty must not keep scanning the grown tables with it.
  test('ledger_append still probes the indexes once the tables have grown', { skip: suite.skip }, async () => {
    const ledger = suite.db;
    await ledger.sql.query('analyze ledger_events; analyze ledger_identities; analyze ledger_deliveries');
    let appended = 0;
    const appendOne = async () => {
      appended += 1;
      const customer = `cust_single${appended}`;
      const { rows } = await ledger.sql.query<{ outcome: string }>(
        'select outcome from ledger_append($1, $2, $3::bigint, $4, $5::jsonb, $6, $7, $8::jsonb)',
        [
          streamOf(customer),
          'no_stream',
          null,
          customer,
          JSON.stringify([{ event_id: crypto.randomUUID(), type: 'TestFactRecorded', schema_version: 1, data: {}, metadata: {} }]),
          'stripe',
          `evt_single${appended}`,
          JSON.stringify([{ kind: 'stripe', externalId: `cus_single${appended}` }]),
        ],
      );
      assert.equal(rows[0]?.outcome, 'appended');
    };
    await appendOne();
    await appendOne();
    await ledger.sql.query(SEED_SQL);
    const before = await seqScans(ledger);
    for (let i = 0; i < 3; i += 1) await appendOne();
    const after = await seqScans(ledger);
    for (const table of TABLES) assert.equal(after[table]! - before[table]!, 0, `sequential scans of ${table}`);
  });
});

describeGenericPlans('append lookups on PostgreSQL', (suite) => {
  test('a group of appends probes the indexes per item, never scans a table, however large', { skip: suite.skip }, async () => {
    const ledger = suite.db;
    // A few thousand rows, analysed: the statistics under which the hash looked cheaper.
    await ledger.sql.query(`${SEED_SQL} analyze ledger_events; analyze ledger_identities; analyze ledger_deliveries;`);
    const appendRound = appendRounds(ledger);
    await appendRound();
    const before = await seqScans(ledger);
    for (let i = 0; i < 3; i += 1) await appendRound();
    const after = await seqScans(ledger);
    for (const table of TABLES) assert.equal(after[table]! - before[table]!, 0, `sequential scans of ${table}`);
  });
});
