import assert from 'node:assert/strict';
import { test } from 'node:test';
import { namedStatement, type SqlExecutor } from '../../services/eventstore/sqlClient.ts';
import { describeOnEachDatabase } from '../support/databases.ts';

// The adapter runs the same SQL on pg and PGlite (sqlClient.ts), so `rowCount` must mean the same
// on both: the rows a select returned, the rows a write touched. PGlite reports 0 for a select.

const NAMED_SELECT = namedStatement('test_row_count_select', 'select n from row_count_probe where n <= $1::int order by n');

describeOnEachDatabase('rowCount', (suite) => {
  const counts = async (sql: SqlExecutor) => ({
    select: (await sql.query('select n from row_count_probe where n <= $1::int', [3])).rowCount,
    named: (await sql.query(NAMED_SELECT, [2])).rowCount,
    none: (await sql.query('select n from row_count_probe where n < 0')).rowCount,
    update: (await sql.query('update row_count_probe set n = n where n > $1::int', [3])).rowCount,
    returning: (await sql.query('update row_count_probe set n = n where n = 1 returning n')).rowCount,
    deleteNone: (await sql.query('delete from row_count_probe where n < 0')).rowCount,
  });
  const expected = { select: 3, named: 2, none: 0, update: 2, returning: 1, deleteNone: 0 };

  test('is the rows returned by a select and the rows touched by a write, at the top level and in a transaction', { skip: suite.skip }, async () => {
    const { sql } = suite.db;
    await sql.exec('create table row_count_probe (n int primary key); insert into row_count_probe select generate_series(1, 5)');
    assert.deepEqual(await counts(sql), expected);
    assert.deepEqual(await sql.transaction((tx) => counts(tx)), expected);
  });
});
