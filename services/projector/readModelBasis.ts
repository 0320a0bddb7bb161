import type { RecordedEvent } from '../../contracts/eventMetadata.ts';
import type { CustomerState } from '../../domain/customerState.ts';
import { streamIdOf } from '../commands/customerIds.ts';
import { foldCustomer } from '../commands/loadCustomer.ts';
import { readStreamsUpToWith } from '../eventstore/postgresEventStore.ts';
import type { SqlExecutor } from '../eventstore/sqlClient.ts';
import type { FoldMemo } from './foldMemo.ts';
import type { StoredRow } from './readModelRows.ts';

// A row's basis is the customer's state after the event at the row's position: the same for every
// read model whose row stands there. A batch that writes several read models' rows of a customer
// at one position stores it in the first of them only (writeRowsOf); the others store null and
// find it here when loaded: in the batch's row of another read model at that position, else in
// the fold memo, else folded again from the customer's stream up to the position (a read model
// that fell behind the one holding the copy; a new process). Stored whole three times per event,
// the basis was about half of what PostgreSQL spent writing the projector's rows.
export async function resolveBases(tx: SqlExecutor, parts: Map<string, StoredRow>[], memo?: FoldMemo): Promise<void> {
  const without = parts.flatMap((rows) => [...rows].filter(([, row]) => row.basisJson === null));
  if (without.length === 0) return;
  const copies = new Map<string, string>();
  for (const rows of parts) {
    for (const [customerId, row] of rows) if (row.basisJson !== null) copies.set(`${customerId}@${row.position}`, row.basisJson);
  }
  const unresolved: [string, StoredRow][] = [];
  for (const [customerId, row] of without) {
    const copy = copies.get(`${customerId}@${row.position}`);
    const memoised = copy === undefined ? memo?.afterAt(row.position) : undefined;
    if (copy !== undefined) row.basisJson = copy;
    else if (memoised !== undefined) row.basis = memoised;
    else unresolved.push([customerId, row]);
  }
  // One read for all of them: a read model far behind the others may need it for a whole batch.
  const streams = await readStreamsUpToWith(
    tx,
    unresolved.map(([customerId, row]) => ({ streamId: streamIdOf(customerId), position: row.position })),
  );
  for (const [index, [, row]] of unresolved.entries()) row.basis = foldedBasis(streams[index]!);
}

// A fold that fails (an event the domain can no longer read) is that read model's failure for the
// customer's next event, retried and parked like any other (projectionRunner.ts), not the batch's.
function foldedBasis(events: RecordedEvent[]): CustomerState | Error {
  try {
    return foldCustomer(events);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}
