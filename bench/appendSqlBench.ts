import pg from 'pg';
import { openDatabase } from '../services/eventstore/openDatabase.ts';
import { fmt, processCpuMs, table } from './stats.ts';
import { BENCH_POSTGRES_URL } from './targets.ts';

// PostgreSQL's own CPU for one group append, as ledger_append_batch judges it (a set at a time
// when the group has four or more appends that cannot see one another) against item after item
// (the function kept as ledger_append_batch_serial). One connection, synchronous_commit off so the figure is CPU and
// not the disk; the backend's utime + stime from /proc (a database on this machine only).
// Items as a Stripe invoice delivery makes them for known customers: exact version, four
// identity claims (two new lookup keys), a delivery key and the raw inbox record.

const CALLS = Number(process.env.BENCH_APPEND_CALLS ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SIZES = [16, 4, 1];
const FUNCTIONS = { set: 'ledger_append_batch', serial: 'ledger_append_batch_serial' } as const;
const BODY = JSON.stringify({ id: 'evt_x', object: 'event', type: 'invoice.paid', data: { object: { lines: Array.from({ length: 12 }, (_, i) => ({ id: `il_${i}`, amount: 2000, description: `Line ${i} of the invoice` })) } } });

let nextCustomer = 0;
const item = (run: string) => {
  nextCustomer += 1;
  const c = `${run}_${nextCustomer}`;
  return {
    stream: `customer-${c}`,
    mode: 'exact',
    expected: 1,
    customer: c,
    events: [{ event_id: crypto.randomUUID(), type: 'PaymentSucceeded', schema_version: 1, data: { invoiceId: `in_${c}`, amountCents: 2000, currency: 'usd', occurredAt: '2026-11-27T23:06:45.000Z' }, metadata: { customerId: c, correlationId: crypto.randomUUID(), occurredAt: '2026-11-27T23:06:45.000Z', source: 'stripe', sourceEventId: `evt_${c}` } }],
    source: 'stripe',
    source_event_id: `evt_${c}`,
    identities: [
      { kind: 'stripe', externalId: `cus_${c}` },
      { kind: 'email', externalId: `${c}@example.com` },
      { kind: 'stripe_invoice', externalId: `in_${c}` },
      { kind: 'stripe_charge', externalId: `ch_${c}` },
    ],
    inbox: { source: 'stripe', verified: true, headers: { 'content-type': 'application/json' }, body: BODY, detail: null, correlation_id: crypto.randomUUID(), source_event_ids: [`evt_${c}`] },
  };
};

export async function appendSqlBench(): Promise<void> {
  const schema = `bench_append_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: BENCH_POSTGRES_URL, connectionTimeoutMillis: 2000 });
  if (!(await admin.connect().then(() => true, () => false))) {
    console.log(`(PostgreSQL at ${BENCH_POSTGRES_URL} unreachable: the append bench measures PostgreSQL only)`);
    return;
  }
  const db = await openDatabase({ databaseUrl: BENCH_POSTGRES_URL, schema, poolSize: 1 });
  await db.close();
  const client = new pg.Client({ connectionString: BENCH_POSTGRES_URL, options: `-c search_path=${schema} -c synchronous_commit=off` });
  await client.connect();
  try {
    const run = Date.now().toString(36);
    // The customers every measured call appends to (version 1 and their stripe id exist), and a
    // store of some size besides.
    const needed = ROUNDS * CALLS * SIZES.reduce((a, b) => a + b, 0) * 2 + 20_000;
    for (let from = 1; from <= needed; from += 4_000) {
      await client.query(
        `select count(*) from ledger_append_batch_serial((select jsonb_agg(jsonb_build_object('stream', 'customer-' || $1 || '_' || g, 'customer', $1 || '_' || g,
           'mode', 'no_stream', 'expected', null, 'events', jsonb_build_array(jsonb_build_object('event_id', gen_random_uuid(), 'type', 'CustomerCreated',
           'schema_version', 1, 'data', '{}'::jsonb, 'metadata', '{}'::jsonb)), 'source', null, 'source_event_id', null,
           'identities', jsonb_build_array(jsonb_build_object('kind', 'stripe', 'externalId', 'cus_' || $1 || '_' || g)), 'inbox', null))
           from generate_series($2::int, $3::int) g))`,
        [run, from, Math.min(needed, from + 3_999)],
      );
    }
    await client.query('analyze');
    const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    const samples = new Map<string, number[]>();
    for (let round = 0; round < ROUNDS; round += 1) {
      // Alternating order, so a neighbour's burst lands on both.
      const order = round % 2 === 0 ? (['set', 'serial'] as const) : (['serial', 'set'] as const);
      for (const size of SIZES) {
        for (const name of order) {
          const groups = Array.from({ length: CALLS }, () => JSON.stringify(Array.from({ length: size }, () => item(run))));
          const before = processCpuMs(pid);
          for (const group of groups) {
            const { rows } = await client.query<{ outcome: string }>(`select outcome from ${FUNCTIONS[name]}($1::jsonb)`, [group]);
            if (rows.some((r) => r.outcome !== 'appended')) throw new Error(`${name}: ${rows.map((r) => r.outcome).join(', ')}`);
          }
          const key = `${name}\u0000${size}`;
          samples.set(key, [...(samples.get(key) ?? []), (processCpuMs(pid) - before) / CALLS]);
        }
      }
    }
    const rows = SIZES.flatMap((size) =>
      (['set', 'serial'] as const).map((name) => {
        const perCall = samples.get(`${name}\u0000${size}`)!;
        return {
          path: name === 'set' ? 'ledger_append_batch (a set from 4 appends)' : 'ledger_append_batch_serial (item by item)',
          'appends per group': size,
          'PostgreSQL CPU ms per group, each round': perCall.map((v) => fmt(v, 2)).join(' / '),
          'per append (median round)': fmt([...perCall].sort((a, b) => a - b)[Math.floor(perCall.length / 2)]! / size, 3),
        };
      }),
    );
    console.log(`\n### One group append in PostgreSQL, as shipped vs item by item (${CALLS} groups per cell, ${ROUNDS} rounds)\n`);
    console.log(table(rows));
  } finally {
    await client.end();
    await admin.query(`drop schema ${schema} cascade`);
    await admin.end();
  }
}
