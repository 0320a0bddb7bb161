import type { RecordedEvent } from '../../contracts/eventMetadata.ts';
import { initialState } from '../../domain/customerState.ts';
import type { ProjectedEvent, ReadModel } from '../../projections/projection.ts';
import type { SqlClient, SqlExecutor } from '../eventstore/sqlClient.ts';
import { observeBatch, type BatchObserver } from '../telemetry/projectionTelemetry.ts';
import { runTogether, type StoredCheckpoint } from './projectionCycle.ts';
import { ProjectionFailure, SharedStateConflict } from './projectionErrors.ts';
import { afterLiteralOf, foldMemoOf, foldOnce, type FoldMemo } from './foldMemo.ts';
import { basisOf, type LoadedRows, type ReadModelRow, type RowsRequest, type RowsWrite, type StoredRow } from './readModelRows.ts';

export interface RunnerOptions {
  batchSize?: number;
  // Attempts before an event is parked.
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  pollIntervalMs?: number;
  // Where this runner writes: the live table, or a rebuild table beside it.
  table?: string;
  checkpointName?: string;
  // false while rebuilding: the swap announces the rebuild's changes at once.
  changeFeed?: boolean;
  // Share folds with this process's other runners (foldMemo.ts); false for a rebuild, which
  // replays one read model alone: nothing to share, and a 20,000-entry memo's retained states
  // cost a 200,000-event rebuild ~20 %.
  shareFolds?: boolean;
}

export interface BatchResult {
  applied: number;
  parked: number;
  position: bigint;
  changedCustomers: string[];
  // true when the batch was full: more may be waiting.
  more: boolean;
}

// Runs one read model over the global log. Each batch is one transaction (shared with the
// process's other read models, projectionCycle.ts): read after the checkpoint, apply, write
// rows + change feed + parked events + checkpoint, commit. A transaction-scoped advisory lock
// makes concurrent runners (two processes) take turns, so nothing is applied twice however many
// are started.
export class ProjectionRunner<Options> {
  readonly table: string;
  readonly checkpointName: string;
  // The advisory lock that makes this read model's writers take turns.
  readonly lockKey: string;
  private readonly failures = new Map<string, number>();
  readonly batchSize: number;
  private readonly maxAttempts: number;
  readonly memo: FoldMemo | undefined;

  constructor(
    private readonly sql: SqlClient,
    readonly readModel: ReadModel<unknown, unknown, Options>,
    readonly options: Options,
    readonly settings: RunnerOptions = {},
  ) {
    this.table = settings.table ?? `read_${readModel.name}`;
    this.checkpointName = settings.checkpointName ?? readModel.name;
    this.batchSize = settings.batchSize ?? 500;
    this.lockKey = `ledger_projection:${this.checkpointName}`;
    this.maxAttempts = settings.maxAttempts ?? 5;
    this.memo = settings.shareFolds === false ? undefined : foldMemoOf(sql);
  }

  // One batch of this read model alone (a rebuild, `catchUp` of one, tests); the projector runs
  // its read models' batches together (projectionCycle.ts). Throws what the batch failed with.
  async runBatch(): Promise<BatchResult> {
    const [outcome] = await runTogether(this.sql, [this]);
    if (outcome === undefined) throw new Error('runBatch: no outcome');
    if ('error' in outcome) throw outcome.error;
    return outcome.result;
  }

  observe(): BatchObserver {
    return observeBatch(this.readModel.name, this.settings.changeFeed ?? true);
  }

  // Store mode, inside the batch's transaction (projectionCycle.ts), in two steps around the
  // one statement that loads every read model's rows: the events past this read model's
  // checkpoint and the rows they need; then apply them and say what to write (rows, change feed,
  // checkpoint; parked events are written here). A failing event throws ProjectionFailure before
  // anything of this read model is written, so the other read models' work stands.
  eventsAfter(stored: StoredCheckpoint, read: RecordedEvent[]): RecordedEvent[] {
    const checkpoint = BigInt(stored.position);
    return read.filter((event) => event.position > checkpoint);
  }

  rowsRequest(events: RecordedEvent[]): RowsRequest {
    return { table: this.table, projection: this.checkpointName, customerIds: [...new Set(events.map((e) => e.metadata.customerId))] };
  }

  async applyLoaded(
    tx: SqlExecutor,
    stored: StoredCheckpoint,
    events: RecordedEvent[],
    loaded: LoadedRows,
    full: boolean,
    observer: BatchObserver,
  ): Promise<{ write: RowsWrite; result: BatchResult }> {
    observer.started(events);
    const { touched, parked, applied, shared } = this.project(events, loaded, stored.shared ?? this.readModel.initialShared);
    await observer.projected({ tx, table: this.table, events, touched, parked });
    await insertParked(tx, this.checkpointName, parked);
    const position = events.at(-1)!.position;
    const changedCustomers = [...touched].filter(([, t]) => t.docChanged).map(([id]) => id);
    return {
      write: {
        table: this.table,
        rows: [...touched].map(([customerId, t]) => ({ customerId, ...t })),
        changeFeed: this.settings.changeFeed ?? true,
        checkpoint: { name: this.checkpointName, position: position.toString(), shared },
      },
      result: { applied, parked: parked.length, position, changedCustomers, more: full },
    };
  }

  // Kafka mode (applyGivenTogether in projectionCycle.ts): one partition's batch, applied inside
  // the consumer's transaction. Kafka delivers at least once, so what this read model already
  // applied is skipped (see `project`): a redelivery after a rebalance or a crash has no second
  // effect. The store checkpoint's position is left alone (the consumer group's offsets are this
  // mode's checkpoint); only its `shared` document changes, by compare-and-set (below).
  async applyGivenLoaded(
    tx: SqlExecutor,
    events: RecordedEvent[],
    loaded: LoadedRows,
    stored: StoredCheckpoint | undefined,
  ): Promise<{ write: RowsWrite; result: BatchResult }> {
    const before = stored?.shared ?? null;
    const { touched, parked, applied, shared } = this.project(events, loaded, before ?? this.readModel.initialShared);
    await insertParked(tx, this.checkpointName, parked);
    if (JSON.stringify(shared) !== JSON.stringify(before ?? this.readModel.initialShared)) {
      // Processes consume different partitions at once; `shared` (a round-robin counter) is the
      // one document they all write. Compare-and-set: the loser retries its batch.
      const { rowCount } = await tx.query(
        `update ledger_projection_checkpoints set shared = $2::jsonb, updated_at = now()
          where name = $1 and shared is not distinct from $3::jsonb`,
        [this.checkpointName, JSON.stringify(shared), before === null ? null : JSON.stringify(before)],
      );
      if (rowCount === 0) throw new SharedStateConflict(this.checkpointName);
    }
    const last = events.at(-1);
    const changedCustomers = [...touched].filter(([, t]) => t.docChanged).map(([id]) => id);
    return {
      write: { table: this.table, rows: [...touched].map(([customerId, t]) => ({ customerId, ...t })), changeFeed: this.settings.changeFeed ?? true },
      result: { applied, parked: parked.length, position: last ? last.position : 0n, changedCustomers, more: false },
    };
  }

  // The fold shared by both modes. A customer's events reach the runner in position order, so
  // an event at or below the position its row already holds was applied before: skipped. In
  // store mode that never happens (the checkpoint is past it); in Kafka mode it is the
  // de-duplication of redeliveries and of the relay's at-least-once repeats.
  private project(
    events: RecordedEvent[],
    loaded: LoadedRows,
    initialShared: unknown,
  ): { touched: Map<string, { row: ReadModelRow; docChanged: boolean }>; parked: ParkedRow[]; applied: number; shared: unknown } {
    let shared = initialShared;
    const { rows: stored } = loaded;
    // Copied: a customer whose event is parked in this batch holds its later ones back.
    const blocked = new Set(loaded.held);
    const touched = new Map<string, { row: ReadModelRow; docChanged: boolean }>();
    const parked: ParkedRow[] = [];
    let applied = 0;

    for (const event of events) {
      const customerId = event.metadata.customerId;
      const position = touched.get(customerId)?.row.position ?? stored.get(customerId)?.position;
      if (position !== undefined && event.position <= BigInt(position)) continue;
      if (blocked.has(customerId)) {
        parked.push({ event, reason: 'held', error: null, attempts: 0 });
        continue;
      }
      try {
        // A stored row is read on its customer's first event here: one that cannot be (its basis
        // could not be folded again, readModelBasis.ts) fails that event, not the batch.
        const previous = touched.get(customerId) ?? (stored.has(customerId) ? { row: this.rowOf(stored.get(customerId)!), docChanged: false } : undefined);
        const next = this.applyOne(previous?.row, event, shared);
        shared = next.shared;
        touched.set(customerId, { row: next.row, docChanged: (previous?.docChanged ?? false) || next.docChanged });
        applied += 1;
      } catch (error) {
        const attempts = (this.failures.get(event.eventId) ?? 0) + 1;
        this.failures.set(event.eventId, attempts);
        // Retry the whole batch (nothing is written) until the event has used its attempts.
        if (attempts < this.maxAttempts) throw new ProjectionFailure(event, attempts, error);
        // The count stays: a park rolled back with its batch (another read model failed it, in
        // Kafka mode) parks again at once instead of starting over.
        parked.push({ event, reason: 'failed', error: errorText(error), attempts });
        blocked.add(customerId);
      }
    }
    return { touched, parked, applied, shared };
  }

  private rowOf(stored: StoredRow): ReadModelRow {
    return {
      doc: stored.docJson === null ? null : JSON.parse(stored.docJson),
      basis: this.memo?.afterAt(stored.position) ?? basisOf(stored),
      position: stored.position,
    };
  }

  // Folds the domain state and feeds the read model; pure apart from reading its inputs.
  applyOne(row: ReadModelRow | undefined, event: RecordedEvent, shared: unknown): { row: ReadModelRow; shared: unknown; docChanged: boolean } {
    const before = row?.basis ?? initialState;
    const folded = this.memo ? this.memo.fold(event, before) : foldOnce(event, before);
    const { event: domainEvent, after } = folded;
    const input: ProjectedEvent = {
      event: domainEvent,
      eventId: event.eventId,
      customerId: event.metadata.customerId,
      position: event.position.toString(),
      streamVersion: event.version,
      occurredAt: event.metadata.occurredAt,
      recordedAt: event.recordedAt,
      correlationId: event.metadata.correlationId,
      before,
      after,
    };
    const result = this.readModel.apply(row?.doc ?? undefined, input, { options: this.options, shared });
    // Whether a change-feed entry is due. A rebuild writes no feed (the swap diffs the tables),
    // so it skips serialising both documents per event, a tenth of a CRM rebuild's time. The
    // document serialised here is the one the row's write carries (readModelRows.ts).
    const previousDoc = row?.doc ?? undefined;
    const docJson = result.doc === previousDoc ? row?.docJson : this.settings.changeFeed === false ? undefined : JSON.stringify(result.doc);
    const docChanged = result.doc !== previousDoc && (docJson === undefined || docJson !== (row?.docJson ?? JSON.stringify(previousDoc)));
    return {
      row: { doc: result.doc, docJson, basis: after, position: event.position.toString(), basisLiteral: () => afterLiteralOf(folded) },
      shared: result.shared,
      docChanged,
    };
  }

  backoffMs(attempt: number): number {
    const base = this.settings.backoffBaseMs ?? 100;
    const max = this.settings.backoffMaxMs ?? 10_000;
    // Full jitter: concurrent runners retrying one outage spread out instead of stampeding.
    return Math.random() * Math.min(max, base * 2 ** attempt);
  }
}

interface ParkedRow {
  event: RecordedEvent;
  reason: 'failed' | 'held';
  error: string | null;
  attempts: number;
}

async function insertParked(tx: SqlExecutor, projection: string, parked: ParkedRow[]): Promise<void> {
  if (parked.length === 0) return;
  await tx.query(
    `insert into ledger_parked_events (projection, position, event_id, customer_id, reason, error, attempts)
     select $1, position, event_id, customer_id, reason, error, attempts from jsonb_to_recordset($2::jsonb)
       as r(position bigint, event_id uuid, customer_id text, reason text, error text, attempts int)
     on conflict (projection, event_id) do nothing`,
    [
      projection,
      JSON.stringify(
        parked.map((p) => ({
          position: p.event.position.toString(),
          event_id: p.event.eventId,
          customer_id: p.event.metadata.customerId,
          reason: p.reason,
          error: p.error,
          attempts: p.attempts,
        })),
      ),
    ],
  );
}

// Stored errors are for operators; keep them short and free of payloads.
const errorText = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 500);
