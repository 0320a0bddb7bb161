import type { SqlClient } from '../eventstore/sqlClient.ts';

// A reader never passes an event whose transaction began after one still open (the xmin fence,
// DESIGN.md › gap safety): such an event, though committed, waits. "Everything committed before
// now" is therefore applied only once every transaction begun before now has ended. The horizon
// is the next transaction id PostgreSQL will assign; the fence has passed it when the oldest
// transaction still open is at or after it. PGlite is one connection: nothing else is open.

export async function commitHorizon(sql: SqlClient): Promise<string | undefined> {
  if (sql.kind !== 'postgres') return undefined;
  const { rows } = await sql.query<{ horizon: string }>('select pg_snapshot_xmax(pg_current_snapshot())::text as horizon');
  return rows[0]!.horizon;
}

export async function fencePassed(sql: SqlClient, horizon: string | undefined): Promise<boolean> {
  if (horizon === undefined) return true;
  const { rows } = await sql.query<{ passed: boolean }>('select pg_snapshot_xmin(pg_current_snapshot()) >= $1::xid8 as passed', [horizon]);
  return rows[0]!.passed;
}
