import { streamIdOf } from '../../services/commands/customerIds.ts';
import { foldCustomer } from '../../services/commands/loadCustomer.ts';
import { loadConfig } from '../../services/config.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { ProjectionRunner } from '../../services/projector/projectionRunner.ts';
import type { SqlClient } from '../../services/eventstore/sqlClient.ts';
import { readModelTablesSql } from '../../services/projector/projectorSchema.ts';
import { createRunners } from '../../services/projector/readModelRunners.ts';
import { untilOlderTransactionsEnd } from './databases.ts';
import { TEST_ENV } from './testApp.ts';

export type ReadModelRows = { customer_id: string; doc: string; basis: string; position: string }[];

// Each row with the basis the projector would fold its next event onto: the stored one, or where a
// batch stored it in another read model's row (readModelBasis.ts), the customer's state after
// the row's position, folded here from the stream. jsonb text on both sides, so they compare.
export async function tableRows(db: LedgerDatabase, table: string): Promise<ReadModelRows> {
  const { rows } = await db.sql.query<Omit<ReadModelRows[number], 'basis'> & { basis: string | null }>(
    `select customer_id, doc::text as doc, basis::jsonb::text as basis, position::text as position from ${table} order by customer_id`,
  );
  const resolved: ReadModelRows = [];
  for (const row of rows) resolved.push({ ...row, basis: row.basis ?? (await foldedBasisText(db, row.customer_id, row.position)) });
  return resolved;
}

// One runner to the head, as its loop would: a batch failing on an event is retried until the
// event is parked (the runner counts its attempts), then the rest flows. Everything committed
// before the call: on PostgreSQL, once another session's older transaction no longer holds it
// back (the xmin fence; test files run side by side).
export async function catchUpThroughFailures(runner: ProjectionRunner<unknown>, sql: SqlClient): Promise<void> {
  await untilOlderTransactionsEnd(sql);
  for (;;) {
    try {
      if (!(await runner.runBatch()).more) return;
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('projection failed'))) throw error;
    }
  }
}

export async function foldedBasisText(db: LedgerDatabase, customerId: string, position: string): Promise<string> {
  const events = (await db.store.readStream(streamIdOf(customerId))).filter((e) => e.position <= BigInt(position));
  const { rows } = await db.sql.query<{ basis: string }>('select $1::jsonb::text as basis', [JSON.stringify(foldCustomer(events))]);
  return rows[0]!.basis;
}

// The same events through one uninterrupted store-polling runner, into tables of its own: what
// any other way of projecting them must equal.
// `settings`: read-model variables the projectors under test were given (owner pools, …).
export async function referenceRows(db: LedgerDatabase, name: string, settings: Record<string, string> = {}): Promise<ReadModelRows> {
  const live = createRunners(db, loadConfig({ ...TEST_ENV, ...settings })).get(name as never)!;
  const table = `ref_${name}`;
  await db.sql.exec(`drop table if exists ${table}; drop table if exists ${table}_changes; ${readModelTablesSql(table)}`);
  const runner = new ProjectionRunner(db.sql, live.readModel, live.options, { table, checkpointName: `${name}#reference`, changeFeed: false });
  await untilOlderTransactionsEnd(db.sql);
  while ((await runner.runBatch()).more);
  return tableRows(db, table);
}
