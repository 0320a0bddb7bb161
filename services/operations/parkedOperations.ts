import type { ParkedRetryRequest } from '../../contracts/api/adminApi.ts';
import { LedgerError } from '../../domain/errors.ts';
import type { ReadModelName } from '../../projections/projection.ts';
import type { LedgerConfig } from '../config.ts';
import type { LedgerDatabase } from '../eventstore/database.ts';
import type { SqlExecutor } from '../eventstore/sqlClient.ts';
import { drainCustomer, listParked, skipParked, type ParkedEvent } from '../projector/parkedEvents.ts';
import type { ProjectionRunner } from '../projector/projectionRunner.ts';
import { createRunners } from '../projector/readModelRunners.ts';

// Parked projection events, as `ledger parked` and /admin/parked act on them. A retry drains the
// event's whole customer in position order (the failed event, then those held behind it), since
// applying one alone would break that customer's order.

export interface DrainOutcome {
  projection: string;
  customerId: string;
  applied: number;
  stillParked: number;
}

export async function listParkedEvents(sql: SqlExecutor, filter: { projection?: string; status: string }): Promise<{ parked: ParkedEvent[] }> {
  return { parked: await listParked(sql, filter) };
}

export async function retryParked(db: LedgerDatabase, config: LedgerConfig, request: ParkedRetryRequest, actor: string): Promise<{ drained: DrainOutcome[] }> {
  const runners = createRunners(db, config);
  const live = [...runners.values()].map((runner) => runner.checkpointName);
  const targets = 'all' in request ? await everyParkedCustomer(db.sql, live) : await customersOf(db.sql, request.ids);
  const drained: DrainOutcome[] = [];
  for (const { projection, customerId } of targets) {
    const result = await drainCustomer(db.sql, runnerFor(runners, projection), customerId, actor);
    drained.push({ projection, customerId, applied: result.applied, stillParked: result.stillParked });
  }
  return { drained };
}

export async function skipParkedEvent(db: LedgerDatabase, config: LedgerConfig, id: string, actor: string, reason: string): Promise<{ drained: DrainOutcome[] }> {
  const [row] = await parkedRows(db.sql, [id]);
  if (row === undefined) throw new LedgerError('LEDGER_NOT_FOUND', `No parked event ${id}`);
  if (row.status !== 'parked') throw new LedgerError('LEDGER_ILLEGAL_STATE', `Parked event ${id} was already ${row.status}`, { status: row.status });
  const result = await skipParked(db.sql, runnerFor(createRunners(db, config), row.projection), id, actor, reason);
  // Another operator resolved it between our read and our update.
  if (result === undefined) throw new LedgerError('LEDGER_ILLEGAL_STATE', `Parked event ${id} was resolved meanwhile`);
  return { drained: [{ projection: row.projection, customerId: result.customerId, applied: result.applied, stillParked: result.stillParked }] };
}

interface ParkedRow {
  id: string;
  projection: string;
  customerId: string;
  status: string;
}

async function parkedRows(sql: SqlExecutor, ids: string[]): Promise<ParkedRow[]> {
  const { rows } = await sql.query<{ id: string; projection: string; customer_id: string; status: string }>(
    `select id::text as id, projection, customer_id, status from ledger_parked_events where id = any($1::bigint[]) order by ledger_parked_events.id`,
    [ids],
  );
  return rows.map((r) => ({ id: r.id, projection: r.projection, customerId: r.customer_id, status: r.status }));
}

async function customersOf(sql: SqlExecutor, ids: string[]): Promise<{ projection: string; customerId: string }[]> {
  const rows = await parkedRows(sql, ids);
  const missing = ids.filter((id) => !rows.some((row) => row.id === id));
  if (missing.length > 0) throw new LedgerError('LEDGER_NOT_FOUND', `No parked event ${missing.join(', ')}`, { ids: missing });
  const resolved = rows.filter((row) => row.status !== 'parked');
  if (resolved.length > 0) {
    throw new LedgerError('LEDGER_ILLEGAL_STATE', `Already resolved: ${resolved.map((r) => `${r.id} (${r.status})`).join(', ')}`, { ids: resolved.map((r) => r.id) });
  }
  return distinct(rows);
}

// Live projections only: a rebuild in progress parks under `<name>#rebuild` and settles its own.
async function everyParkedCustomer(sql: SqlExecutor, live: string[]): Promise<{ projection: string; customerId: string }[]> {
  const { rows } = await sql.query<{ projection: string; customer_id: string }>(
    `select projection, customer_id from ledger_parked_events where status = 'parked' and projection = any($1::text[])
      group by projection, customer_id order by projection, min(position)`,
    [live],
  );
  return rows.map((r) => ({ projection: r.projection, customerId: r.customer_id }));
}

const distinct = (rows: ParkedRow[]) => [
  ...new Map(rows.map((row) => [`${row.projection}\u0000${row.customerId}`, { projection: row.projection, customerId: row.customerId }])).values(),
];

function runnerFor(runners: Map<ReadModelName, ProjectionRunner<unknown>>, projection: string): ProjectionRunner<unknown> {
  const runner = [...runners.values()].find((candidate) => candidate.checkpointName === projection);
  // `crm@<position>` and the like: the history a rebuild archived, no longer applied anywhere.
  if (runner === undefined) throw new LedgerError('LEDGER_ILLEGAL_STATE', `Projection ${projection} is archived (a rebuild superseded it)`);
  return runner;
}
