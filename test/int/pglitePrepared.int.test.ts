import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createPgliteClient, type PgliteSqlClient } from '../../services/eventstore/pgliteClient.ts';
import { namedStatement } from '../../services/eventstore/sqlClient.ts';

// On the embedded store a named statement is prepared once and then sent as one protocol message
// (services/eventstore/pglitePrepared.ts), beside PGlite's own locking rather than through its
// `query`. What the store relies on: the same rows as `query` gives, the same isolation from a
// transaction in progress, and no statement left broken by a failure.

const INSERT = namedStatement('test_prepared_insert', 'insert into prepared_probe (id, doc, tags, at) values ($1::bigint, $2::jsonb, $3::text[], $4::timestamptz) returning id::text as id');
const READ = namedStatement('test_prepared_read', 'select id, doc, tags, at, $1::text as echo from prepared_probe where id >= $2::bigint order by id');
const LATER = namedStatement('test_prepared_later', 'select count(*)::int as n from prepared_later');

describe('named statements on the embedded store', () => {
  let sql: PgliteSqlClient;
  before(async () => {
    sql = await createPgliteClient('memory://');
    await sql.exec('create table prepared_probe (id bigint primary key, doc jsonb, tags text[], at timestamptz)');
  });
  after(() => sql.close());

  test('give the rows, types and counts that an unnamed statement gives', async () => {
    const inserted = await sql.query<{ id: string }>(INSERT, ['1', JSON.stringify({ a: [1, 'x'] }), ['p', 'q,r'], '2026-01-02T03:04:05Z']);
    assert.deepEqual(inserted.rows, [{ id: '1' }]);
    assert.equal(inserted.rowCount, 1);
    await sql.query(INSERT, ['2', null, [], '2026-01-02T03:04:06Z']);
    const named = await sql.query(READ, ['hi', '1']);
    const unnamed = await sql.query(`${READ} `, ['hi', '1']);
    assert.deepEqual(named.rows, unnamed.rows);
    assert.deepEqual(named.rows[0], { id: 1, doc: { a: [1, 'x'] }, tags: ['p', 'q,r'], at: new Date('2026-01-02T03:04:05Z'), echo: 'hi' });
    assert.equal(named.rowCount, unnamed.rowCount);
  });

  test('wait for a transaction in progress instead of running inside it', async () => {
    let insideTransaction!: () => void;
    const transactionBegan = new Promise<void>((resolve) => (insideTransaction = resolve));
    const rolledBack = sql.transaction(async (tx) => {
      await tx.query(INSERT, ['10', null, null, null]);
      insideTransaction();
      await new Promise((resolve) => setTimeout(resolve, 50));
      throw new Error('roll back');
    });
    await transactionBegan;
    // Issued while the transaction is open: were it sent inside it, it would roll back with it.
    const outside = sql.query(INSERT, ['11', null, null, null]);
    await assert.rejects(rolledBack, /roll back/);
    await outside;
    assert.deepEqual((await sql.query<{ id: number }>(READ, ['', '10'])).rows.map((r) => r.id), [11]);
  });

  test('a failure inside a transaction rolls it back and leaves the statement usable', async () => {
    await assert.rejects(
      sql.transaction(async (tx) => {
        await tx.query(INSERT, ['20', null, null, null]);
        await tx.query(INSERT, ['20', null, null, null]);
      }),
      (error: { code?: string }) => error.code === '23505',
    );
    await sql.transaction((tx) => tx.query(INSERT, ['21', null, null, null]));
    assert.deepEqual((await sql.query<{ id: number }>(READ, ['', '20'])).rows.map((r) => r.id), [21]);
  });

  test('a statement that could not be prepared is prepared again on its next call', async () => {
    await assert.rejects(sql.query(LATER), (error: { code?: string }) => error.code === '42P01');
    await sql.exec('create table prepared_later (id int); insert into prepared_later values (1), (2)');
    assert.deepEqual((await sql.query(LATER)).rows, [{ n: 2 }]);
  });

  test('a table swapped under a prepared statement is read anew (as a rebuild swaps read models)', async () => {
    assert.deepEqual((await sql.query(LATER)).rows, [{ n: 2 }]);
    await sql.exec('create table prepared_later_new (id int); insert into prepared_later_new values (7); drop table prepared_later; alter table prepared_later_new rename to prepared_later');
    assert.deepEqual((await sql.query(LATER)).rows, [{ n: 1 }]);
  });
});
