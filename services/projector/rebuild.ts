import type { SqlClient } from '../eventstore/sqlClient.ts';
import { ProjectionRunner } from './projectionRunner.ts';
import { readModelTablesSql } from './projectorSchema.ts';
import { changesTable } from './readModelRows.ts';

export interface RebuildResult {
  readModel: string;
  events: number;
  // Events the rebuild parked (the live list after the swap): a rebuild that reports only its
  // count reads as all applied.
  parked: number;
  seconds: number;
  position: string;
}

// Replays the whole log into a new table while the live one keeps serving, then swaps them in
// one transaction that holds the live runner's lock. Customers whose document differs get a
// change-feed entry, so sync workers see what the rebuild changed.
export async function rebuildReadModel(
  sql: SqlClient,
  live: ProjectionRunner<unknown>,
  options: { batchSize?: number; onProgress?: (events: number) => void } = {},
): Promise<RebuildResult> {
  const name = live.checkpointName;
  const table = `${live.table}__rebuild`;
  const checkpointName = `${name}#rebuild`;
  await sql.transaction(async (tx) => {
    await tx.exec(`drop table if exists ${table}`);
    await tx.exec(readModelTablesSql(table));
    await tx.query('delete from ledger_projection_checkpoints where name = $1', [checkpointName]);
    await tx.query('delete from ledger_parked_events where projection = $1', [checkpointName]);
  });
  const runner = new ProjectionRunner(sql, live.readModel, live.options, {
    ...live.settings,
    table,
    checkpointName,
    changeFeed: false,
    shareFolds: false,
    batchSize: options.batchSize ?? 2_000,
  });
  const start = performance.now();
  let events = 0;
  let parked = 0;
  for (;;) {
    const batch = await runner.runBatch();
    events += batch.applied + batch.parked;
    parked += batch.parked;
    options.onProgress?.(events);
    if (!batch.more) break;
  }
  const position = await swap(sql, live, table, checkpointName);
  return { readModel: name, events, parked, seconds: (performance.now() - start) / 1000, position };
}

async function swap(sql: SqlClient, live: ProjectionRunner<unknown>, table: string, checkpointName: string): Promise<string> {
  return sql.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock(hashtext($1))', [live.lockKey]);
    await tx.query('select pg_advisory_xact_lock(hashtext($1))', [`ledger_projection:${checkpointName}`]);
    await tx.query(
      `insert into ${changesTable(live.table)} (customer_id, position)
       select coalesce(r.customer_id, l.customer_id), coalesce(r.position, l.position)
         from ${table} r full outer join ${live.table} l on l.customer_id = r.customer_id
        where r.doc is distinct from l.doc`,
    );
    await tx.exec(`alter table ${live.table} rename to ${live.table}__old`);
    await tx.exec(`alter table ${table} rename to ${live.table}`);
    await tx.exec(`drop table ${live.table}__old`);
    const { rows } = await tx.query<{ position: string; shared: unknown }>(
      'select position::text as position, shared from ledger_projection_checkpoints where name = $1',
      [checkpointName],
    );
    const position = rows[0]?.position ?? '0';
    await tx.query(
      `insert into ledger_projection_checkpoints (name, position, shared) values ($1, $2::bigint, $3::jsonb)
       on conflict (name) do update set position = excluded.position, shared = excluded.shared, updated_at = now()`,
      [live.checkpointName, position, JSON.stringify(rows[0]?.shared ?? null)],
    );
    await tx.query('delete from ledger_projection_checkpoints where name = $1', [checkpointName]);
    // The live model's parked history is archived under `<name>@<swap position>`; what the
    // rebuild parked becomes the live list.
    await tx.query(
      `update ledger_parked_events set status = 'skipped', resolved_at = now(), resolved_by = 'rebuild', resolution_reason = 'superseded by rebuild'
        where projection = $1 and status = 'parked'`,
      [live.checkpointName],
    );
    await tx.query(`update ledger_parked_events set projection = $1 where projection = $2`, [`${live.checkpointName}@${position}`, live.checkpointName]);
    await tx.query(`update ledger_parked_events set projection = $1 where projection = $2`, [live.checkpointName, checkpointName]);
    return position;
  });
}
