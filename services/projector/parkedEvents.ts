import type { RecordedEvent } from '../../contracts/eventMetadata.ts';
import { initialState, type CustomerState } from '../../domain/customerState.ts';
import { readEventAt } from '../eventstore/postgresEventStore.ts';
import type { SqlClient, SqlExecutor } from '../eventstore/sqlClient.ts';
import { foldOnce } from './foldMemo.ts';
import type { ProjectionRunner } from './projectionRunner.ts';
import { loadRows, writeRows } from './readModelRows.ts';

export interface ParkedEvent {
  id: string;
  projection: string;
  position: string;
  eventId: string;
  customerId: string;
  reason: 'failed' | 'held';
  error: string | null;
  attempts: number;
  status: 'parked' | 'retried' | 'skipped';
  parkedAt: string;
}

export async function listParked(sql: SqlExecutor, filter: { projection?: string; status?: string } = {}): Promise<ParkedEvent[]> {
  const { rows } = await sql.query<Record<string, unknown>>(
    `select id::text as id, projection, position::text as position, event_id::text as event_id, customer_id, reason, error,
            attempts, status, parked_at
       from ledger_parked_events
      where ($1::text is null or projection = $1) and ($2::text is null or status = $2)
      order by projection, ledger_parked_events.position`,
    [filter.projection ?? null, filter.status ?? 'parked'],
  );
  return rows.map((r) => ({
    id: String(r.id),
    projection: String(r.projection),
    position: String(r.position),
    eventId: String(r.event_id),
    customerId: String(r.customer_id),
    reason: r.reason as ParkedEvent['reason'],
    error: (r.error as string | null) ?? null,
    attempts: Number(r.attempts),
    status: r.status as ParkedEvent['status'],
    parkedAt: new Date(r.parked_at as string).toISOString(),
  }));
}

export interface DrainResult {
  customerId: string;
  applied: number;
  stillParked: number;
}

// Applies a customer's parked events in position order (the failed one first, then those held
// behind it). Stops at the first that fails again, so the customer's order is never broken. A
// skipped event is not applied, but the customer's state still takes it (when it can be read): the
// state is the same for every read model at a position (readModelBasis.ts), as a rebuild and the
// write side see it.
export async function drainCustomer(sql: SqlClient, runner: ProjectionRunner<unknown>, customerId: string, actor: string): Promise<DrainResult> {
  return sql.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock(hashtext($1))', [runner.lockKey]);
    const { rows: checkpoint } = await tx.query<{ shared: unknown }>('select shared from ledger_projection_checkpoints where name = $1', [
      runner.checkpointName,
    ]);
    let shared = checkpoint[0]?.shared ?? runner.readModel.initialShared;
    let row = (await loadRows(tx, runner.table, [customerId])).get(customerId);
    const { rows: entries } = await tx.query<{ id: string; position: string; status: 'parked' | 'skipped' }>(
      `select id::text as id, position::text as position, status from ledger_parked_events
        where projection = $1 and customer_id = $2
          and (status = 'parked' or (status = 'skipped' and ledger_parked_events.position > $3::bigint))
        order by ledger_parked_events.position`,
      [runner.checkpointName, customerId, row?.position ?? '0'],
    );
    const parked = entries.filter((entry) => entry.status === 'parked');
    let docChanged = false;
    let applied = 0;
    let folded = 0;
    for (const entry of entries) {
      const event = await readEventAt(tx, entry.position);
      if (!event) break;
      if (entry.status === 'skipped') {
        const after = foldedOrNot(event, row?.basis ?? initialState);
        if (after !== undefined) {
          row = { doc: row?.doc, basis: after, position: event.position.toString() };
          folded += 1;
        }
        continue;
      }
      try {
        const next = runner.applyOne(row, event, shared);
        row = next.row;
        shared = next.shared;
        docChanged ||= next.docChanged;
      } catch (error) {
        await tx.query(`update ledger_parked_events set attempts = attempts + 1, error = $2 where id = $1::bigint`, [
          entry.id,
          (error instanceof Error ? error.message : String(error)).slice(0, 500),
        ]);
        break;
      }
      await tx.query(
        `update ledger_parked_events set status = 'retried', resolved_at = now(), resolved_by = $2 where id = $1::bigint`,
        [entry.id, actor],
      );
      applied += 1;
    }
    if (row && applied + folded > 0) {
      await writeRows(tx, runner.table, [{ customerId, row, docChanged }]);
      await tx.query('update ledger_projection_checkpoints set shared = $2::jsonb where name = $1', [runner.checkpointName, JSON.stringify(shared)]);
    }
    return { customerId, applied, stillParked: parked.length - applied };
  });
}

// An event that cannot be read (what a skip may be for) leaves the state as it was.
function foldedOrNot(event: RecordedEvent, before: CustomerState): CustomerState | undefined {
  try {
    return foldOnce(event, before).after;
  } catch {
    return undefined;
  }
}

// Marks one parked event as not to be applied (with the reason), then drains what it held back.
export async function skipParked(
  sql: SqlClient,
  runner: ProjectionRunner<unknown>,
  id: string,
  actor: string,
  reason: string,
): Promise<DrainResult | undefined> {
  const { rows } = await sql.query<{ customer_id: string }>(
    `update ledger_parked_events set status = 'skipped', resolved_at = now(), resolved_by = $3, resolution_reason = $4
      where id = $1::bigint and projection = $2 and status = 'parked' returning customer_id`,
    [id, runner.checkpointName, actor, reason],
  );
  const customerId = rows[0]?.customer_id;
  return customerId ? drainCustomer(sql, runner, customerId, actor) : undefined;
}
