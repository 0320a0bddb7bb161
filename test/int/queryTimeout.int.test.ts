import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { openDatabase } from '../../services/eventstore/openDatabase.ts';
import { databaseTargets, dropSchemaOf, POSTGRES_URL, whileTablesLocked } from '../support/databases.ts';
import { startTcpProxy } from '../support/tcpProxy.ts';

// DATABASE_QUERY_TIMEOUT_MS on PostgreSQL (pgClient.ts): the server cancels a statement past it
// and the connection stays usable; a server that cannot answer at all is given up on by the
// client a little later and that connection is dropped, in a transaction too. Schema changes
// (`exec`) are exempt. Short sleeps: a transaction that wrote holds every gap-safe reader's fence
// while it lasts, in other test files too.
// This process's warnings: pg deprecates a statement queued behind another on one connection
// (pg 9 refuses it), which the timeout's SET did on every new connection, printed by every
// process that opened PostgreSQL.
const warnings: string[] = [];
process.on('warning', (warning) => warnings.push(`${warning.name}: ${warning.message}`));
const postgres = databaseTargets.find((t) => t.name === 'postgres')!;
const skip = await postgres.skip();
const schemaName = (prefix: string) => `t_${prefix}_${Date.now().toString(36)}`;

describe('statement timeout on PostgreSQL', { skip }, () => {
  let db: LedgerDatabase;
  before(async () => {
    db = await openDatabase({ databaseUrl: POSTGRES_URL, schema: schemaName('qt'), poolSize: 2, queryTimeoutMs: 300 });
    await db.sql.exec('create table timeout_probe (n int)');
  });
  after(async () => {
    await dropSchemaOf(db);
    await db.close();
  });

  const count = async () => (await db.sql.query<{ n: string }>('select count(*)::text as n from timeout_probe')).rows[0]!.n;

  test('every new connection has it before its first statement, and nothing is queued behind another statement', async () => {
    const fresh = await openDatabase({ databaseUrl: POSTGRES_URL, poolSize: 3, queryTimeoutMs: 1_234, migrate: false });
    try {
      const shown = await Promise.all([1, 2, 3].map(() => fresh.sql.query<{ statement_timeout: string }>('show statement_timeout')));
      assert.deepEqual(shown.map((r) => r.rows[0]!.statement_timeout), ['1234ms', '1234ms', '1234ms']);
      const inTransaction = await fresh.sql.transaction((tx) => tx.query<{ statement_timeout: string }>('show statement_timeout'));
      assert.equal(inTransaction.rows[0]!.statement_timeout, '1234ms');
    } finally {
      await fresh.close();
    }
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings, []);
  });

  test('a statement past it is cancelled by the server (57014) and the pool goes on', async () => {
    const started = performance.now();
    await assert.rejects(db.sql.query('select pg_sleep(1)'), (error: { code?: string }) => error.code === '57014');
    assert.ok(performance.now() - started < 900);
    const answers = await Promise.all([1, 2, 3, 4].map(() => db.sql.query<{ one: number }>('select 1 as one')));
    assert.deepEqual(answers.map((a) => a.rows[0]!.one), [1, 1, 1, 1]);
  });

  test('a transaction whose statement is cancelled commits nothing; the next one works', async () => {
    await assert.rejects(
      db.sql.transaction(async (tx) => {
        await tx.query('insert into timeout_probe values (1)');
        await tx.query('select pg_sleep(1)');
      }),
      (error: { code?: string }) => error.code === '57014',
    );
    assert.equal(await count(), '0');
    await db.sql.transaction((tx) => tx.query('insert into timeout_probe values (2)'));
    assert.equal(await count(), '1');
  });

  test('readiness with the migrations table locked by another session: not ready, saying it could not read them, not that some are pending', async () => {
    assert.deepEqual(await whileTablesLocked(db, ['ledger_migrations'], () => db.readiness()), {
      ok: false,
      checks: [
        { name: 'store', ok: true },
        { name: 'migrations', ok: false, detail: 'could not read the applied migrations (canceling statement due to statement timeout)' },
      ],
    });
    assert.equal((await db.readiness()).ok, true);
  });

  test('schema changes (exec) are not cut short, at the top level or in a transaction, and the timeout stays for the rest', async () => {
    await db.sql.exec('select pg_sleep(0.6)');
    await db.sql.transaction((tx) => tx.exec('select pg_sleep(0.6)'));
    for (let i = 0; i < 3; i += 1) await assert.rejects(db.sql.query('select pg_sleep(1)'), (error: { code?: string }) => error.code === '57014');
  });
});

test('opening a store waits for another process’s migrations, however long, instead of timing out', { skip }, async () => {
  const other = await openDatabase({ databaseUrl: POSTGRES_URL, migrate: false });
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let held!: () => void;
  const holding = new Promise<void>((resolve) => (held = resolve));
  // The lock applyMigrations takes (migrations.ts), held as a process running long migrations would.
  const migrating = other.sql.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock(7202611)');
    held();
    await released;
  });
  await holding;
  const releasing = setTimeout(release, 1_000);
  try {
    const db = await openDatabase({ databaseUrl: POSTGRES_URL, schema: schemaName('qtm'), poolSize: 2, queryTimeoutMs: 300 });
    assert.deepEqual(await db.readiness(), { ok: true, checks: [{ name: 'store', ok: true }, { name: 'migrations', ok: true }] });
    await dropSchemaOf(db);
    await db.close();
  } finally {
    clearTimeout(releasing);
    release();
    await migrating;
    await other.close();
  }
});

describe('a server that cannot answer (PostgreSQL behind a black-holed hop)', { skip }, () => {
  test('the client gives up on a transaction and drops its connection: with one connection, the next transaction works', async () => {
    const url = new URL(POSTGRES_URL);
    const proxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
    url.host = `127.0.0.1:${proxy.port}`;
    const schema = schemaName('qtc');
    const single = await openDatabase({ databaseUrl: url.toString(), schema, poolSize: 1, queryTimeoutMs: 300, migrate: false });
    try {
      await single.sql.query('select 1');
      const started = performance.now();
      await assert.rejects(
        single.sql.transaction(async (tx) => {
          // Nothing written: a transaction with an id would hold other files' readers back.
          await tx.query('select 1');
          proxy.blackHole();
          await tx.query('select 1');
        }),
        /Query read timeout/,
      );
      assert.ok(performance.now() - started < 2_000);
      proxy.failOver();
      // The pool's only connection was the silent one: reused, this would wait behind it for ever.
      const next = single.sql.transaction((tx) => tx.query<{ one: number }>('select 1 as one'));
      const hung = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 5_000).unref());
      const answer = await Promise.race([next, hung]);
      assert.notEqual(answer, 'hung');
      assert.deepEqual(answer === 'hung' ? [] : answer.rows, [{ one: 1 }]);
    } finally {
      await proxy.close();
      await single.close().catch(() => {});
      const direct = await openDatabase({ databaseUrl: POSTGRES_URL, migrate: false });
      await direct.sql.exec(`drop schema if exists ${schema} cascade`).finally(() => direct.close());
    }
  });
});
