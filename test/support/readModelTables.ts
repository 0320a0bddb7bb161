import { loadConfig } from '../../services/config.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { ProjectionRunner } from '../../services/projector/projectionRunner.ts';
import { readModelTablesSql } from '../../services/projector/projectorSchema.ts';
import { createRunners } from '../../services/projector/readModelRunners.ts';
import { TEST_ENV } from './testApp.ts';

export type ReadModelRows = { customer_id: string; doc: string; basis: string; position: string }[];

export async function tableRows(db: LedgerDatabase, table: string): Promise<ReadModelRows> {
  const { rows } = await db.sql.query<ReadModelRows[number]>(
    `select customer_id, doc::text as doc, basis::jsonb::text as basis, position::text as position from ${table} order by customer_id`,
  );
  return rows;
}

// The same events through one uninterrupted store-polling runner, into tables of its own: what
// any other way of projecting them must equal.
// `settings`: read-model variables the projectors under test were given (owner pools, …).
export async function referenceRows(db: LedgerDatabase, name: string, settings: Record<string, string> = {}): Promise<ReadModelRows> {
  const live = createRunners(db, loadConfig({ ...TEST_ENV, ...settings })).get(name as never)!;
  const table = `ref_${name}`;
  await db.sql.exec(`drop table if exists ${table}; drop table if exists ${table}_changes; ${readModelTablesSql(table)}`);
  const runner = new ProjectionRunner(db.sql, live.readModel, live.options, { table, checkpointName: `${name}#reference`, changeFeed: false });
  while ((await runner.runBatch()).more);
  return tableRows(db, table);
}
