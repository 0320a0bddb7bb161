import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { domainEvent } from '../../contracts/domainEvents.ts';
import { handleCommand } from '../../services/commands/handleCommand.ts';
import { loadConfig } from '../../services/config.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { applyMigrations } from '../../services/eventstore/migrations.ts';
import { READ_MODEL_NAMES } from '../../services/projector/projectorSchema.ts';
import { createProjector, createRunners } from '../../services/projector/readModelRunners.ts';
import { rebuildReadModel } from '../../services/projector/rebuild.ts';
import { allMigrations } from '../../services/schema.ts';
import { TRAIL_DELIVERIES_SQL, TRAIL_EVENTS_SQL } from '../../services/telemetry/correlationTrail.ts';
import { recordHistories } from '../support/customerHistories.ts';
import { databaseTargets, describeOnEachDatabase, dropSchemaOf, openPostgres, storedEvents } from '../support/databases.ts';
import { TEST_ENV } from '../support/testApp.ts';

// Every column the write path probes an index by: ids, compared as bytes (0022-0024).
const KEY_COLUMNS: Record<string, string[]> = {
  ledger_events: ['stream_id'],
  ledger_deliveries: ['source', 'source_event_id', 'stream_id'],
  ledger_identities: ['kind', 'external_id', 'customer_id'],
  ledger_inbox: ['source', 'correlation_id'],
  ledger_parked_events: ['projection', 'customer_id'],
  ...Object.fromEntries(READ_MODEL_NAMES.flatMap((name) => [[`read_${name}`, ['customer_id']], [`read_${name}_changes`, ['customer_id']]])),
};
const UPGRADE = ['0022_store_keys_bytewise', '0023_inbox_keys_bytewise', '0024_read_models_in_place', '0025_correlation_bytewise'];

async function collations(db: LedgerDatabase): Promise<Record<string, string | null>> {
  const { rows } = await db.sql.query<{ table_name: string; column_name: string; collation_name: string | null }>(
    `select table_name, column_name, collation_name from information_schema.columns
      where table_schema = current_schema() and table_name = any($1::text[])`,
    [Object.keys(KEY_COLUMNS)],
  );
  const keys = new Set(Object.entries(KEY_COLUMNS).flatMap(([table, columns]) => columns.map((column) => `${table}.${column}`)));
  return Object.fromEntries(rows.filter((r) => keys.has(`${r.table_name}.${r.column_name}`)).map((r) => [`${r.table_name}.${r.column_name}`, r.collation_name]));
}

const allBytewise = () =>
  Object.fromEntries(Object.entries(KEY_COLUMNS).flatMap(([table, columns]) => columns.map((column) => [`${table}.${column}`, 'C'])));

async function fillfactor(db: LedgerDatabase, table: string): Promise<string[] | null> {
  const { rows } = await db.sql.query<{ options: string[] | null }>(
    `select c.reloptions as options from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and c.relname = $1`,
    [table],
  );
  return rows[0]?.options ?? null;
}

const payment = (n: number, key: string) => ({
  command: { type: 'RecordFact' as const, fact: domainEvent('PaymentSucceeded', { occurredAt: '2026-01-03T00:00:00Z', invoiceId: `in_h${n}${key}`, amountCents: 2900, currency: 'usd' }) },
  identities: [{ kind: 'app' as const, externalId: `user_h${n}` }],
  createIfMissing: false,
  idempotencyKey: { source: 'app', sourceEventId: `h${n}-${key}` },
  metadata: { source: 'app' as const, sourceEventId: `h${n}-${key}`, correlationId: `corr-h${n}-${key}` },
});

describeOnEachDatabase('ids compared as bytes and read-model rows rewritten in place', (suite) => {
  const { skip } = suite;
  let db: LedgerDatabase;
  before(() => {
    if (!skip) db = suite.db;
  });

  test('a database from before keeps every event, delivery and identity through the upgrade', { skip, timeout: 300_000 }, async () => {
    const config = loadConfig(TEST_ENV);
    await recordHistories(db.store, 30);
    await createProjector(db, config).catchUp();
    assert.deepEqual(await collations(db), allBytewise(), 'a new database');
    // The tables as an older release left them: ids in the database's collation, full pages.
    for (const [table, columns] of Object.entries(KEY_COLUMNS)) {
      await db.sql.exec(`alter table ${table} ${columns.map((c) => `alter column ${c} type text collate "default"`).join(', ')}`);
    }
    for (const name of READ_MODEL_NAMES) await db.sql.exec(`alter table read_${name} reset (fillfactor)`);
    await db.sql.exec(`drop index ledger_events_correlation; create index ledger_events_correlation on ledger_events ((metadata->>'correlationId'))`);
    await db.sql.query('delete from ledger_migrations where id = any($1::text[])', [UPGRADE]);
    const events = await storedEvents(db);

    assert.deepEqual(await applyMigrations(db.sql, allMigrations), UPGRADE);
    assert.deepEqual(await collations(db), allBytewise());
    for (const name of READ_MODEL_NAMES) assert.deepEqual(await fillfactor(db, `read_${name}`), ['fillfactor=50'], name);
    assert.deepEqual(await storedEvents(db), events, 'the append-only log as it was');

    // Found through the rebuilt indexes: a re-delivery is the same delivery, an id the same customer.
    const deps = { store: db.store, now: () => new Date('2026-01-03T00:00:00Z') };
    const redelivered = await handleCommand(deps, { ...payment(3, 'x'), idempotencyKey: { source: 'app', sourceEventId: 'h3-0' } });
    assert.equal(redelivered.duplicate, true);
    const later = await handleCommand(deps, payment(3, 'later'));
    assert.equal(later.duplicate, false);
    assert.equal(later.customerId, redelivered.customerId);
    assert.equal((await storedEvents(db)).length, events.length + later.eventIds.length);
  });

  test('`ledger trace` finds a correlation id\'s deliveries and events by index', { skip }, async () => {
    const plans = await db.sql.transaction(async (tx) => {
      // However small the test's tables, a plan that cannot use the index scans them anyway.
      await tx.exec('set local enable_seqscan = off');
      const plan = async (sql: string, params: unknown[]) =>
        (await tx.query<Record<string, string>>(`explain ${sql}`, params)).rows.map((row) => Object.values(row)[0]).join('\n');
      return [await plan(TRAIL_DELIVERIES_SQL, ['corr-h3-0']), await plan(TRAIL_EVENTS_SQL, ['corr-h3-0', 10])];
    });
    assert.match(plans[0]!, /ledger_inbox_correlation/);
    assert.match(plans[1]!, /ledger_events_correlation/);
  });

  test('a rebuilt read model keeps byte-compared keys and room on its pages', { skip, timeout: 300_000 }, async () => {
    const runner = createRunners(db, loadConfig(TEST_ENV)).get('crm')!;
    await rebuildReadModel(db.sql, runner, { batchSize: 50 });
    const { rows } = await db.sql.query<{ count: string }>('select count(*)::text as count from read_crm');
    assert.equal(rows[0]!.count, '30');
    assert.deepEqual(await fillfactor(db, 'read_crm'), ['fillfactor=50']);
    assert.deepEqual(await collations(db), allBytewise());
  });
});

// PostgreSQL's statistics say how an update was done; PGlite is one backend with no collector.
describe('read-model rows on PostgreSQL', async () => {
  const skip = await databaseTargets.find((target) => target.name === 'postgres')!.skip();
  test("a customer's rows are rewritten in place, their index left as it was", { skip, timeout: 300_000 }, async () => {
    const db = await openPostgres(4);
    try {
      const config = loadConfig(TEST_ENV);
      const projector = createProjector(db, config);
      await recordHistories(db.store, 20);
      await projector.catchUp();
      const deps = { store: db.store, now: () => new Date('2026-01-03T00:00:00Z') };
      for (let round = 0; round < 5; round += 1) {
        for (let n = 0; n < 20; n += 1) await handleCommand(deps, payment(n, `r${round}`));
        await projector.catchUp();
      }
      // Statistics reach the shared view within a backend's flush interval (at most ~10 s idle).
      const deadline = Date.now() + 30_000;
      let counts: { table: string; updated: number; inPlace: number }[] = [];
      for (;;) {
        const { rows } = await db.sql.query<{ table: string; updated: string; in_place: string }>(
          `select relname as table, n_tup_upd::text as updated, n_tup_hot_upd::text as in_place from pg_stat_user_tables
            where schemaname = current_schema() and relname = any($1::text[]) order by relname`,
          [READ_MODEL_NAMES.map((name) => `read_${name}`)],
        );
        counts = rows.map((r) => ({ table: r.table, updated: Number(r.updated), inPlace: Number(r.in_place) }));
        if ((counts.length === 3 && counts.every((c) => c.updated >= 100)) || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      assert.equal(counts.length, 3);
      for (const { table, updated, inPlace } of counts) {
        assert.ok(updated >= 100, `${table}: ${updated} updates seen`);
        // With full pages ~4 % were (README › Performance).
        assert.ok(inPlace >= updated * 0.9, `${table}: ${inPlace} of ${updated} updates in place`);
      }
    } finally {
      await dropSchemaOf(db);
      await db.close();
    }
  });
});
