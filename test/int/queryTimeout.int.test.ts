import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { openDatabase } from '../../services/eventstore/openDatabase.ts';
import { databaseTargets, dropSchemaOf, POSTGRES_URL } from '../support/databases.ts';

// DATABASE_QUERY_TIMEOUT_MS on PostgreSQL (pgClient.ts): a statement not answered in time fails
// as "store unavailable", its connection is dropped rather than pooled while it still waits, and
// a transaction that timed out leaves nothing behind. Schema changes (`exec`) are exempt. Short
// sleeps: a transaction that wrote holds every gap-safe reader's fence while it lasts, in other
// test files too.
const postgres = databaseTargets.find((t) => t.name === 'postgres')!;
const skip = await postgres.skip();

describe('statement timeout on PostgreSQL', { skip }, () => {
  let db: LedgerDatabase;
  before(async () => {
    db = await openDatabase({ databaseUrl: POSTGRES_URL, schema: `t_qt_${Date.now().toString(36)}`, poolSize: 2, queryTimeoutMs: 300 });
    await db.sql.exec('create table timeout_probe (n int)');
  });
  after(async () => {
    await dropSchemaOf(db);
    await db.close();
  });

  const backends = async () => (await db.sql.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;

  test('a statement past it fails and its connection is dropped; the pool goes on with others', async () => {
    const started = performance.now();
    await assert.rejects(db.sql.query('select pg_sleep(1)'), /Query read timeout/);
    assert.ok(performance.now() - started < 900);
    // Both pooled connections keep answering (a timed-out one still waiting would not).
    const answers = await Promise.all([1, 2, 3, 4].map(() => db.sql.query<{ one: number }>('select 1 as one')));
    assert.deepEqual(answers.map((a) => a.rows[0]!.one), [1, 1, 1, 1]);
    assert.equal(typeof (await backends()), 'number');
  });

  test('a transaction whose statement times out is rolled back and its connection not reused', async () => {
    await assert.rejects(
      db.sql.transaction(async (tx) => {
        await tx.query('insert into timeout_probe values (1)');
        await tx.query('select pg_sleep(1)');
      }),
      /Query read timeout/,
    );
    // The server ends the abandoned session once its sleep is over; the insert never commits.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal((await db.sql.query<{ n: string }>('select count(*)::text as n from timeout_probe')).rows[0]!.n, '0');
    await db.sql.transaction((tx) => tx.query('insert into timeout_probe values (2)'));
    assert.equal((await db.sql.query<{ n: string }>('select count(*)::text as n from timeout_probe')).rows[0]!.n, '1');
  });

  test('schema changes (exec) are not cut short', async () => {
    await db.sql.exec('select pg_sleep(0.6)');
  });
});
