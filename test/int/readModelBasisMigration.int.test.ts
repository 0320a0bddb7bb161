import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { domainEvent } from '../../contracts/domainEvents.ts';
import { streamIdOf } from '../../services/commands/customerIds.ts';
import { handleCommand } from '../../services/commands/handleCommand.ts';
import { foldCustomer } from '../../services/commands/loadCustomer.ts';
import { loadConfig } from '../../services/config.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { applyMigrations } from '../../services/eventstore/migrations.ts';
import { READ_MODEL_NAMES } from '../../services/projector/projectorSchema.ts';
import { createProjector } from '../../services/projector/readModelRunners.ts';
import { allMigrations } from '../../services/schema.ts';
import { recordHistories } from '../support/customerHistories.ts';
import { describeOnEachDatabase } from '../support/databases.ts';
import { TEST_ENV } from '../support/testApp.ts';

const MIGRATION = '0018_read_model_basis_text';

async function bases(db: LedgerDatabase, name: string): Promise<Map<string, { basis: unknown; position: bigint }>> {
  const { rows } = await db.sql.query<{ customer_id: string; basis: string; position: string }>(
    `select customer_id, basis::text as basis, position::text as position from read_${name}`,
  );
  return new Map(rows.map((row) => [row.customer_id, { basis: JSON.parse(row.basis), position: BigInt(row.position) }]));
}

// A database whose read models were projected before 0018 (the basis a jsonb column) is migrated
// in place: the stored states survive, and the projector carries on from them.
describeOnEachDatabase('read-model rows projected before the basis became text', (suite) => {
  const { skip } = suite;
  let db: LedgerDatabase;
  before(() => {
    if (!skip) db = suite.db;
  });

  test('keep their states through the migration, and later events fold onto them', { skip, timeout: 300_000 }, async () => {
    const config = loadConfig(TEST_ENV);
    await recordHistories(db.store, 60);
    await createProjector(db, config).catchUp();
    // The tables as an older release left them.
    for (const name of READ_MODEL_NAMES) await db.sql.exec(`alter table read_${name} alter column basis type jsonb using basis::jsonb`);
    await db.sql.query('delete from ledger_migrations where id = $1', [MIGRATION]);
    const stored = new Map(await Promise.all(READ_MODEL_NAMES.map(async (name) => [name, await bases(db, name)] as const)));

    assert.deepEqual(await applyMigrations(db.sql, allMigrations), [MIGRATION]);
    for (const name of READ_MODEL_NAMES) {
      const { rows } = await db.sql.query<{ type: string }>(
        `select data_type as type from information_schema.columns where table_name = $1 and column_name = 'basis' and table_schema = current_schema()`,
        [`read_${name}`],
      );
      assert.deepEqual(rows, [{ type: 'text' }], name);
      assert.deepEqual(await bases(db, name), stored.get(name), `${name}: every stored state as it was`);
    }

    // A later payment for every customer already projected, and new customers.
    for (let n = 0; n < 60; n += 1) {
      await handleCommand(
        { store: db.store, now: () => new Date('2026-01-03T00:00:00Z') },
        {
          command: {
            type: 'RecordFact',
            fact: domainEvent('PaymentSucceeded', { occurredAt: '2026-01-03T00:00:00Z', invoiceId: `in_h${n}later`, amountCents: 2900, currency: 'usd' }),
          },
          identities: [{ kind: 'app', externalId: `user_h${n}` }],
          createIfMissing: false,
          idempotencyKey: { source: 'app', sourceEventId: `h${n}-later` },
          metadata: { source: 'app', sourceEventId: `h${n}-later`, correlationId: `corr-h${n}-later` },
        },
      );
    }
    await recordHistories(db.store, 60, 60);
    await createProjector(db, config).catchUp();
    let checked = 0;
    for (const name of READ_MODEL_NAMES) {
      const { rows } = await db.sql.query<{ customer_id: string; basis: string | null; position: string }>(
        `select customer_id, basis, position::text as position from read_${name}`,
      );
      assert.equal(rows.length, 120, name);
      const migrated = stored.get(name)!;
      const moved = rows.filter((row) => BigInt(row.position) > (migrated.get(row.customer_id)?.position ?? BigInt(row.position)));
      assert.equal(moved.length, 60, `${name}: every migrated row took its customer's later payment`);
      for (const row of rows) {
        // Since 0019 one of a customer's rows at a position holds its basis (readModelBasis.ts).
        if (row.basis === null) continue;
        const events = (await db.store.readStream(streamIdOf(row.customer_id))).filter((e) => e.position <= BigInt(row.position));
        assert.deepEqual(JSON.parse(row.basis), JSON.parse(JSON.stringify(foldCustomer(events))), `${name} ${row.customer_id}`);
        checked += 1;
      }
    }
    assert.ok(checked >= 120, `${checked} stored states checked`);
  });
});
