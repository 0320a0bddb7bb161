import type { RecordedEvent } from '../../contracts/eventMetadata.ts';
import { readAllWith } from '../eventstore/postgresEventStore.ts';
import { namedStatement, type SqlClient, type SqlExecutor } from '../eventstore/sqlClient.ts';
import { ProjectionFailure } from './projectionErrors.ts';
import { loadRowsAndHoldsOf, writeRowsOf, type RowsWrite } from './readModelRows.ts';
import type { BatchResult, ProjectionRunner } from './projectionRunner.ts';

export interface StoredCheckpoint {
  position: string;
  shared: unknown;
}

export type BatchOutcome = { runner: ProjectionRunner<unknown>; result: BatchResult } | { runner: ProjectionRunner<unknown>; error: unknown };

// The read models of one process take their batches together: one transaction, one lock
// statement, one checkpoint read and one read of the log for all of them, instead of each its
// own (three transactions of seven statements each and the same events read three times; the
// projector was ~40 % of the CPU a delivery cost the service and PostgreSQL). Each read model
// still moves its own checkpoint from where it stands. A read model whose event fails is left
// out of this commit, not the others: its ProjectionFailure is thrown before it writes anything,
// and the caller backs it off alone. Any other error (the store) fails the transaction and
// every batch in it.
export async function runTogether(sql: SqlClient, runners: ProjectionRunner<unknown>[]): Promise<BatchOutcome[]> {
  const observers = new Map(runners.map((runner) => [runner, runner.observe()]));
  const observerOf = (runner: ProjectionRunner<unknown>) => observers.get(runner)!;
  let outcomes: BatchOutcome[];
  try {
    outcomes = await sql.transaction(async (tx) => {
      // In the runners' order, as the Kafka consumer takes its shared locks: no lock cycle.
      await tx.query(LOCKS_SQL, [runners.map((runner) => runner.lockKey)]);
      const stored = await checkpointsOf(tx, runners.map((runner) => runner.checkpointName));
      const limit = Math.min(...runners.map((runner) => runner.batchSize));
      const positionOf = (runner: ProjectionRunner<unknown>) => BigInt(stored.get(runner.checkpointName)!.position);
      const done: BatchOutcome[] = [];
      // Usually one read serves them all. One far behind the others (rebuilt, just added, back
      // from a long backoff) is served by its own read, so it never holds the others' freshness
      // back while it catches up.
      let pending = [...runners];
      while (pending.length > 0) {
        const from = pending.map(positionOf).reduce((lowest, position) => (position < lowest ? position : lowest));
        const read = await readAllWith(tx, from, limit);
        const full = read.length === limit;
        const last = read.at(-1)?.position;
        const served = full && last !== undefined ? pending.filter((runner) => positionOf(runner) < last) : pending;
        const work = served.map((runner) => {
          const checkpoint = stored.get(runner.checkpointName)!;
          return { runner, checkpoint, events: runner.eventsAfter(checkpoint, read) };
        });
        for (const { runner, checkpoint } of work.filter((w) => w.events.length === 0)) {
          done.push({ runner, result: { applied: 0, parked: 0, position: BigInt(checkpoint.position), changedCustomers: [], more: full } });
        }
        // One statement loads the rows of every read model with events, one writes them all.
        const active = work.filter((w) => w.events.length > 0);
        const loaded = await loadRowsAndHoldsOf(tx, active.map((w) => w.runner.rowsRequest(w.events)), runners[0]!.memo);
        const writes: RowsWrite[] = [];
        for (const [index, { runner, checkpoint, events }] of active.entries()) {
          try {
            const { write, result } = await runner.applyLoaded(tx, checkpoint, events, loaded[index]!, full, observerOf(runner));
            writes.push(write);
            done.push({ runner, result });
          } catch (error) {
            if (!(error instanceof ProjectionFailure)) throw error;
            done.push({ runner, error });
          }
        }
        await writeRowsOf(tx, writes);
        pending = pending.filter((runner) => !served.includes(runner));
      }
      return done;
    });
  } catch (error) {
    observers.forEach((observer) => observer.failed(error));
    return runners.map((runner) => ({ runner, error }));
  }
  for (const outcome of outcomes) {
    if ('error' in outcome) observerOf(outcome.runner).failed(outcome.error);
    else observerOf(outcome.runner).committed(outcome.result);
  }
  return outcomes;
}

// Kafka mode's batch (kafkaSource.ts): one partition's events, applied to every read model in the
// consumer's transaction with the same shared statements as above (one lock statement, one
// checkpoint read, one row load, one write) instead of each read model's own four. The locks are
// shared ones: Kafka transactions on other partitions run beside this one; what rewrites a whole
// customer or table (drainCustomer, the rebuild's swap, a store-polling runner on the same read
// model) takes them exclusively. Any failure fails the whole batch, which the consumer retries.
export async function applyGivenTogether(
  tx: SqlExecutor,
  runners: ProjectionRunner<unknown>[],
  events: RecordedEvent[],
): Promise<[ProjectionRunner<unknown>, BatchResult][]> {
  await tx.query(SHARED_LOCKS_SQL, [runners.map((runner) => runner.lockKey)]);
  const stored = await checkpointsOf(tx, runners.map((runner) => runner.checkpointName));
  const loaded = await loadRowsAndHoldsOf(tx, runners.map((runner) => runner.rowsRequest(events)), runners[0]?.memo);
  const applied: [ProjectionRunner<unknown>, BatchResult][] = [];
  const writes: RowsWrite[] = [];
  // Every read model counts its attempt at a failing event before the batch fails, so that all
  // of them park it in the same round. Stopping at the first, the next one's count began only
  // when the first parked (and that park rolled back with the batch): 5 × 5 × 5 rounds, about
  // ten minutes in which the consumer's other partitions waited too.
  let failure: ProjectionFailure | undefined;
  for (const [index, runner] of runners.entries()) {
    try {
      const { write, result } = await runner.applyGivenLoaded(tx, events, loaded[index]!, stored.get(runner.checkpointName));
      writes.push(write);
      applied.push([runner, result]);
    } catch (error) {
      if (!(error instanceof ProjectionFailure)) throw error;
      failure ??= error;
    }
  }
  if (failure !== undefined) throw failure;
  await writeRowsOf(tx, writes);
  return applied;
}

// A function scan takes the locks in the array's order.
const LOCKS_SQL = namedStatement('ledger_projection_locks', 'select count(pg_advisory_xact_lock(hashtext(key))) from unnest($1::text[]) as key');
const SHARED_LOCKS_SQL = namedStatement(
  'ledger_projection_shared_locks',
  'select count(pg_advisory_xact_lock_shared(hashtext(key))) from unnest($1::text[]) as key',
);

// The projections' checkpoint rows, created at position 0 on first use: one round trip (the
// insert's rows for those it created, else the stored ones; the statement sees one or the other).
const CHECKPOINTS_SQL = namedStatement(
  'ledger_projection_checkpoints',
  `with created as (insert into ledger_projection_checkpoints (name) select unnest($1::text[]) on conflict do nothing returning name, position, shared)
   select name, position::text as position, shared from created
   union all
   select name, position::text as position, shared from ledger_projection_checkpoints where name = any($1::text[])`,
);

export async function checkpointsOf(tx: SqlExecutor, names: string[]): Promise<Map<string, StoredCheckpoint>> {
  const { rows } = await tx.query<{ name: string; position: string; shared: unknown }>(CHECKPOINTS_SQL, [names]);
  return new Map(rows.map((row) => [row.name, { position: row.position, shared: row.shared }]));
}
