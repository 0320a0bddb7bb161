import assert from 'node:assert/strict';
import { test } from 'node:test';
import { domainEvent } from '../../contracts/domainEvents.ts';
import { handleCommand } from '../../services/commands/handleCommand.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { claimsOf } from '../../services/ingest/stripe/stripeFacts.ts';
import { describeGenericPlans, flushStatistics } from '../support/databases.ts';

// Regression: the append's identity check (a join on jsonb_array_elements) and the command
// context's owner lookup were planned as a hash join over the whole identities table. Prepared
// statements keep the plan they chose while the table was small, so every delivery scanned every
// identity and ingest slowed with the number of customers (4.8 ms of PostgreSQL CPU per delivery
// at a few thousand customers). Generic plans from the first call (the worst case) and one
// connection, so the server's table counters see exactly this session's scans.

async function seqScansOfIdentities(db: LedgerDatabase): Promise<number> {
  await flushStatistics(db);
  const { rows } = await db.sql.query<{ seq_scan: string }>(
    `select seq_scan::text from pg_stat_user_tables where relname = 'ledger_identities' and schemaname = current_schema()`,
  );
  return Number(rows[0]!.seq_scan);
}

let deliveries = 0;
const deliver = (db: LedgerDatabase, customer: string) => {
  deliveries += 1;
  const invoice = `in_${deliveries}`;
  return handleCommand(
    { store: db.store, now: () => new Date('2026-03-01T00:00:00Z') },
    {
      command: {
        type: 'RecordFact',
        fact: domainEvent('PaymentSucceeded', { occurredAt: '2026-02-01T00:00:00Z', invoiceId: invoice, amountCents: 4900, currency: 'usd' }),
      },
      identities: claimsOf({ customer, email: `${customer}@example.com`, lookups: [['stripe_invoice', invoice], ['stripe_charge', `ch_${deliveries}`]] }),
      createIfMissing: true,
      idempotencyKey: { source: 'stripe', sourceEventId: `evt_${deliveries}` },
      metadata: { source: 'stripe', sourceEventId: `evt_${deliveries}`, correlationId: `corr_${deliveries}` },
    },
  );
};

describeGenericPlans('identity lookups on PostgreSQL', (suite) => {
  test('a delivery for a new or a known customer probes the identities index, never scans the table', { skip: suite.skip }, async () => {
    const ledger = suite.db;
    for (let i = 0; i < 50; i += 1) await deliver(ledger, `cus_${i}`);
    const before = await seqScansOfIdentities(ledger);
    for (let i = 0; i < 20; i += 1) await deliver(ledger, `cus_${i % 2 === 0 ? i : 100 + i}`);
    assert.equal((await seqScansOfIdentities(ledger)) - before, 0);
    // The customers exist once each: the probes found the owners.
    const { rows } = await ledger.sql.query<{ n: string }>(`select count(distinct customer_id)::text as n from ledger_identities where kind = 'stripe'`);
    assert.equal(Number(rows[0]!.n), 60);
  });
});
