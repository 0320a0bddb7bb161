import type { SqlClient } from '../eventstore/sqlClient.ts';

// A reader never passes an event whose transaction began after one still open (the xmin fence,
// DESIGN.md › gap safety): such an event, though committed, waits. "Everything committed before
// now" is therefore readable only once every transaction begun before now has ended. The horizon
// is the next transaction id PostgreSQL will assign; the fence has passed it when the oldest
// transaction still open is at or after it. PGlite is one connection: nothing else is open.

// Until every transaction open at the call has ended, or `timeoutMs`; false when it timed out.
// `Projector.catchUp` waits so; tests do too where another test file's session may hold the fence.
export async function untilOlderTransactionsEnd(sql: SqlClient, timeoutMs = 10_000): Promise<boolean> {
  const horizon = await commitHorizon(sql);
  const deadline = Date.now() + timeoutMs;
  for (let pause = 5; ; pause = Math.min(pause * 2, 200)) {
    if (await fencePassed(sql, horizon)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

async function commitHorizon(sql: SqlClient): Promise<string | undefined> {
  if (sql.kind !== 'postgres') return undefined;
  const { rows } = await sql.query<{ horizon: string }>('select pg_snapshot_xmax(pg_current_snapshot())::text as horizon');
  return rows[0]!.horizon;
}

async function fencePassed(sql: SqlClient, horizon: string | undefined): Promise<boolean> {
  if (horizon === undefined) return true;
  const { rows } = await sql.query<{ passed: boolean }>('select pg_snapshot_xmin(pg_current_snapshot()) >= $1::xid8 as passed', [horizon]);
  return rows[0]!.passed;
}
