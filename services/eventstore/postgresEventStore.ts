import type { EventMetadata, NewEvent, RecordedEvent } from '../../contracts/eventMetadata.ts';
import { ConcurrencyError, IdentityConflictError, LedgerError } from '../../domain/errors.ts';
import type {
  AppendOptions,
  AppendResult,
  CommandContext,
  CommandContextQuery,
  EventStore,
  IdentityClaim,
  InboxRecord,
  ReadAllOptions,
  ReadStreamOptions,
} from './port.ts';
import { countAppendGrouping, observeAppend } from '../telemetry/storeTelemetry.ts';
import { namedStatement, type SqlClient, type SqlExecutor } from './sqlClient.ts';
import { EVENTS_PER_APPEND_LIMIT } from './storeSchema.ts';
import { StatementGroup } from './statementGroup.ts';
import { uuidv7 } from './uuidv7.ts';
import { isStoreUnavailable } from './storeUnavailable.ts';

interface EventRow {
  position_text: string;
  stream_id: string;
  version_text: string;
  event_id: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: RecordedEvent['metadata'];
  recorded_at: Date | string;
}

// Numbers travel as text (PGlite reads int8 as a JS number). The aliases differ from the
// column names on purpose: `order by position` must sort the bigint, not its text.
const EVENT_COLUMNS = `position::text as position_text, stream_id, version::text as version_text,
  event_id::text as event_id, type, schema_version, data, metadata, recorded_at`;

const APPEND_SQL = namedStatement(
  'ledger_append',
  `select outcome, stream_version::text as stream_version, positions::text[] as positions, event_ids::text[] as event_ids
     from ledger_append($1, $2, $3::bigint, $4, $5::jsonb, $6, $7, $8::jsonb)`,
);

const APPEND_BATCH_SQL = namedStatement(
  'ledger_append_batch',
  `select item, outcome, stream_version::text as stream_version, positions::text[] as positions,
          event_ids::text[] as event_ids, conflict_customer, conflict_kind, inbox_id::text as inbox_id
     from ledger_append_batch($1::jsonb) order by item`,
);

interface AppendItem {
  streamId: string;
  expectedVersion: AppendOptions['expectedVersion'];
  customerId: string;
  events: { event_id: string; type: string; schema_version: number; data: unknown; metadata: unknown }[];
  source: string | null;
  sourceEventId: string | null;
  identities: IdentityClaim[] | null;
  inbox: InboxRecord | null;
}

type AppendAnswer = { result: AppendResult } | { error: unknown };

interface AppendBatchRow {
  item: number;
  outcome: 'appended' | 'duplicate' | 'version_conflict' | 'identity_conflict';
  stream_version: string | null;
  positions: string[] | null;
  event_ids: string[] | null;
  conflict_customer: string | null;
  conflict_kind: string | null;
  inbox_id: string | null;
}

// ledger_append's p_mode and p_expected for an expected version.
const modeOf = (expected: AppendOptions['expectedVersion']) =>
  expected === 'any' ? 'any' : expected === 'no_stream' || expected === 0 ? 'no_stream' : 'exact';
const expectedOf = (expected: AppendOptions['expectedVersion']) => (typeof expected === 'number' ? expected : null);

const batchItemOf = (item: AppendItem) => ({
  stream: item.streamId,
  mode: modeOf(item.expectedVersion),
  expected: expectedOf(item.expectedVersion),
  customer: item.customerId,
  events: item.events,
  source: item.source,
  source_event_id: item.sourceEventId,
  identities: item.identities,
  inbox: item.inbox && {
    source: item.inbox.source,
    verified: item.inbox.verified,
    headers: item.inbox.headers,
    body: item.inbox.body,
    detail: item.inbox.detail ?? null,
    correlation_id: item.inbox.correlationId,
    source_event_ids: item.inbox.sourceEventIds,
  },
});

function answerOf(item: AppendItem, row: AppendBatchRow): AppendAnswer {
  switch (row.outcome) {
    case 'version_conflict':
      return { error: new ConcurrencyError(item.streamId, item.expectedVersion, undefined) };
    case 'identity_conflict':
      return { error: new IdentityConflictError(row.conflict_kind ?? '', '', row.conflict_customer ?? '') };
    default:
      return {
        result: {
          streamId: item.streamId,
          nextVersion: Number(row.stream_version),
          positions: (row.positions ?? []).map((p) => BigInt(p)),
          eventIds: row.event_ids ?? [],
          duplicate: row.outcome === 'duplicate',
          ...(row.inbox_id !== null ? { inboxId: row.inbox_id } : {}),
        },
      };
  }
}

// Consecutive runs of items whose events fit one transaction's positions.
function chunksOfEvents(items: AppendItem[], limit: number): AppendItem[][] {
  const chunks: AppendItem[][] = [];
  let count = 0;
  for (const item of items) {
    if (chunks.length === 0 || count + item.events.length > limit) {
      chunks.push([]);
      count = 0;
    }
    chunks.at(-1)!.push(item);
    count += item.events.length;
  }
  return chunks;
}

const READ_ALL_SQL = namedStatement(
  'ledger_read_all',
  `select ${EVENT_COLUMNS} from ledger_events
    where position > $1::bigint and transaction_id < pg_snapshot_xmin(pg_current_snapshot())
    order by position limit $2::int`,
);

const READ_STREAM_SQL = namedStatement(
  'ledger_read_stream',
  `select ${EVENT_COLUMNS} from ledger_events
    where stream_id = $1::text and version >= $2::bigint and version <= $3::bigint order by version`,
);

// The owner of claim `c` as a scalar subquery: always one index probe. Written as a join, the
// planner hashed the whole identities table while it was small, and a prepared statement kept
// that plan as the table grew (ledger_append's identity check had the same flaw; 0010). The
// subquery selecting it ends in `offset 0`, so filtering on the owner does not probe twice.
const OWNER_OF_CLAIM = '(select l.customer_id from ledger_identities l where l.kind = c.kind and l.external_id = c.external_id)';

const RESOLVE_IDENTITIES_SQL = namedStatement(
  'ledger_resolve_identities',
  `select o.kind, o.external_id, o.customer_id
     from (select c.kind, c.external_id, ${OWNER_OF_CLAIM} as customer_id
             from unnest($1::text[], $2::text[]) as c(kind, external_id) offset 0) o
    where o.customer_id is not null`,
);

const EVENT_JSON = `json_build_object('position_text', e.position::text, 'stream_id', e.stream_id,
  'version_text', e.version::text, 'event_id', e.event_id::text, 'type', e.type, 'schema_version', e.schema_version,
  'data', e.data, 'metadata', e.metadata, 'recorded_at', e.recorded_at)`;

// findDelivery, resolveIdentities and readStream of the likely customer as one statement: on
// a loaded machine each round trip costs more than the work it carries. The owner picked here
// is the one handleCommand's domain rule (candidateOf) picks; a different pick only costs a
// second read there. Concurrent deliveries' reads share one statement (StatementGroup): one
// row per query, in query order.
const COMMAND_CONTEXTS_SQL = namedStatement(
  'ledger_command_contexts',
  `select ctx.delivery, ctx.owners, ctx.owner_id, ctx.after_version, ctx.events
     from jsonb_to_recordset($1::jsonb) as q(i int, source text, source_event_id text, kinds text[], external_ids text[],
                                             owner_id text, stream_prefix text, known_owner text, known_version bigint)
     cross join lateral (
       with delivery as (
         select d.stream_id, d.positions::text[] as positions, d.event_ids::text[] as event_ids,
                (select e.version::text from ledger_events e where e.position = d.positions[cardinality(d.positions)]) as version
           from ledger_deliveries d where d.source = q.source and d.source_event_id = q.source_event_id),
       owners as (
         select o.* from (select c.ord, c.kind, c.external_id, ${OWNER_OF_CLAIM} as customer_id
                            from unnest(q.kinds, q.external_ids) with ordinality as c(kind, external_id, ord) offset 0) o
          where o.customer_id is not null),
       target as (
         select t.owner_id, case when t.owner_id = q.known_owner then q.known_version else 0 end as after_version
           from (select coalesce(q.owner_id, (select o.customer_id from owners o order by o.ord limit 1)) as owner_id
                  where not exists (select 1 from delivery)) t)
       select (select json_build_object('stream_id', stream_id, 'positions', positions, 'event_ids', event_ids, 'version', version) from delivery) as delivery,
              (select json_agg(json_build_object('key', o.kind || ':' || o.external_id, 'owner', o.customer_id)) from owners o) as owners,
              (select owner_id from target) as owner_id,
              (select after_version::text from target) as after_version,
              (select json_agg(${EVENT_JSON} order by e.version) from target t join ledger_events e
                on e.stream_id = q.stream_prefix || t.owner_id and e.version > t.after_version) as events) ctx
    order by q.i`,
);

interface CommandContextRow {
  delivery: DeliveryRow | null;
  owners: { key: string; owner: string }[] | null;
  owner_id: string | null;
  after_version: string | null;
  events: EventRow[] | null;
}

async function readCommandContexts(sql: SqlExecutor, queries: CommandContextQuery[]): Promise<CommandContextRow[]> {
  const { rows } = await sql.query<CommandContextRow>(COMMAND_CONTEXTS_SQL, [
    JSON.stringify(
      queries.map((query, i) => ({
        i,
        source: query.idempotencyKey?.source ?? null,
        source_event_id: query.idempotencyKey?.sourceEventId ?? null,
        kinds: query.claims.map((c) => c.kind),
        external_ids: query.claims.map((c) => c.externalId),
        owner_id: query.ownerId ?? null,
        stream_prefix: query.streamIdPrefix,
        known_owner: query.known?.customerId ?? null,
        known_version: query.known?.version ?? 0,
      })),
    ),
  ]);
  return rows;
}

// The gap-safe global read on a given executor (a projector reads inside its own transaction).
export async function readAllWith(executor: SqlExecutor, after: bigint, limit: number): Promise<RecordedEvent[]> {
  const { rows } = await executor.query<EventRow>(READ_ALL_SQL, [after.toString(), limit]);
  return rows.map(toRecordedEvent);
}

export async function readEventAt(executor: SqlExecutor, position: bigint | string): Promise<RecordedEvent | undefined> {
  const { rows } = await executor.query<EventRow>(`select ${EVENT_COLUMNS} from ledger_events where position = $1::bigint`, [
    position.toString(),
  ]);
  return rows[0] ? toRecordedEvent(rows[0]) : undefined;
}

// Streams' events, each up to its own global position, in one round trip on a given executor: a
// projector folds read-model rows' bases from them when no copy is at hand (readModelBasis.ts).
const READ_STREAMS_UP_TO_SQL = namedStatement(
  'ledger_read_streams_up_to',
  `select s.n::int as n, e.* from unnest($1::text[], $2::bigint[]) with ordinality as s(stream, upto, n)
     cross join lateral (select ${EVENT_COLUMNS} from ledger_events
                          where stream_id = s.stream and position <= s.upto order by version) e
    order by s.n, e.position_text::bigint`,
);

// In the order asked (a stream may be asked for twice, up to different positions).
export async function readStreamsUpToWith(executor: SqlExecutor, upTo: { streamId: string; position: string }[]): Promise<RecordedEvent[][]> {
  const streams = upTo.map((): RecordedEvent[] => []);
  if (upTo.length === 0) return streams;
  const { rows } = await executor.query<EventRow & { n: number }>(READ_STREAMS_UP_TO_SQL, [upTo.map((s) => s.streamId), upTo.map((s) => s.position)]);
  for (const row of rows) streams[row.n - 1]!.push(toRecordedEvent(row));
  return streams;
}

interface DeliveryRow {
  stream_id: string;
  positions: string[];
  event_ids: string[];
  version: string | null;
}

const seenDelivery = (row: DeliveryRow): AppendResult => ({
  streamId: row.stream_id,
  nextVersion: Number(row.version ?? 0),
  positions: row.positions.map((p) => BigInt(p)),
  eventIds: row.event_ids,
  duplicate: true,
});

export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    eventId: row.event_id,
    streamId: row.stream_id,
    version: Number(row.version_text),
    position: BigInt(row.position_text),
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata,
    recordedAt: row.recorded_at instanceof Date ? row.recorded_at.toISOString() : new Date(row.recorded_at).toISOString(),
  };
}

export function translateStoreError(error: unknown, streamId?: string, expected?: AppendOptions['expectedVersion']): unknown {
  if (error instanceof LedgerError) return error;
  const e = error as { code?: string; detail?: string; hint?: string; message?: string; constraint?: string };
  if (e.code === 'LDG01' || (e.code === '23505' && e.constraint === 'ledger_events_stream_version')) {
    return new ConcurrencyError(streamId ?? '', expected ?? 'any', undefined);
  }
  if (e.code === 'LDG02') return new IdentityConflictError(e.hint ?? '', '', e.detail ?? '');
  // Connection-level failures mean "retry later" (503), never a client error.
  if (isStoreUnavailable(error)) return new LedgerError('LEDGER_STORE_UNAVAILABLE');
  return error;
}

export class PostgresEventStore implements EventStore {
  private readonly listeners = new Set<(result: AppendResult) => void>();

  private readonly commandContexts: StatementGroup<CommandContextQuery, CommandContextRow>;

  private readonly appends: StatementGroup<AppendItem, AppendAnswer>;

  constructor(private readonly sql: SqlClient) {
    this.commandContexts = new StatementGroup((queries) => readCommandContexts(sql, queries));
    this.appends = new StatementGroup((items) => this.appendGroup(items));
  }

  onAppended(listener: (result: AppendResult) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async append(streamId: string, events: NewEvent[], options: AppendOptions): Promise<AppendResult> {
    return observeAppend(events, () => this.appendWithRetry(streamId, events, options));
  }

  private async appendWithRetry(streamId: string, events: NewEvent[], options: AppendOptions): Promise<AppendResult> {
    // 'any' means "whatever the version is": a writer that lost a race for the next version
    // simply takes the one after. Other modes report the conflict with the version found.
    for (let attempt = 1; ; attempt += 1) {
      try {
        const result = await this.appendOnce(streamId, events, options);
        if (!result.duplicate) for (const listener of this.listeners) listener(result);
        return result;
      } catch (error) {
        if (!(error instanceof ConcurrencyError)) throw error;
        if (options.expectedVersion === 'any' && attempt < 20) continue;
        throw new ConcurrencyError(streamId, options.expectedVersion, await this.streamVersion(streamId));
      }
    }
  }

  private async appendOnce(streamId: string, events: NewEvent[], options: AppendOptions): Promise<AppendResult> {
    if (events.length === 0 || events.length > EVENTS_PER_APPEND_LIMIT) {
      throw new LedgerError('LEDGER_VALIDATION', `An append holds 1..${EVENTS_PER_APPEND_LIMIT} events`);
    }
    const { expectedVersion } = options;
    const answer = await this.appends.submit({
      streamId,
      expectedVersion,
      customerId: events[0]!.metadata.customerId,
      events: events.map((event) => ({
        event_id: uuidv7(),
        type: event.type,
        schema_version: event.schemaVersion,
        data: event.data,
        metadata: event.metadata,
      })),
      source: options.idempotencyKey?.source ?? null,
      sourceEventId: options.idempotencyKey?.sourceEventId ?? null,
      identities: options.identities?.length ? options.identities : null,
      inbox: options.inbox ?? null,
    });
    if ('error' in answer) throw answer.error;
    return answer.result;
  }

  // Appends queued while a statement is in flight go out together (appendBatchSchema.ts).
  private async appendGroup(items: AppendItem[]): Promise<AppendAnswer[]> {
    const answers: AppendAnswer[] = [];
    for (const chunk of chunksOfEvents(items, EVENTS_PER_APPEND_LIMIT)) answers.push(...(await this.appendChunk(chunk)));
    return answers;
  }

  private async appendChunk(items: AppendItem[]): Promise<AppendAnswer[]> {
    let rows: AppendBatchRow[];
    try {
      ({ rows } = await this.sql.query<AppendBatchRow>(APPEND_BATCH_SQL, [JSON.stringify(items.map(batchItemOf))]));
    } catch {
      // A race with another process aborted the statement (or the store failed): each item
      // alone, in order, gets the answer it would have had without grouping.
      countAppendGrouping('fallback', items.length);
      const answers: AppendAnswer[] = [];
      for (const item of items) answers.push(await this.appendAlone(item).then((result) => ({ result }), (error) => ({ error })));
      return answers;
    }
    if (rows.length !== items.length) throw new Error(`ledger_append_batch answered ${rows.length} of ${items.length} appends`);
    countAppendGrouping('grouped', items.length);
    return rows.map((row, index) => answerOf(items[index]!, row));
  }

  private async appendAlone(item: AppendItem): Promise<AppendResult> {
    try {
      const { rows } = await this.sql.query<{ outcome: string; stream_version: string; positions: string[]; event_ids: string[] }>(
        APPEND_SQL,
        [
          item.streamId,
          modeOf(item.expectedVersion),
          expectedOf(item.expectedVersion),
          item.customerId,
          JSON.stringify(item.events),
          item.source,
          item.sourceEventId,
          item.identities ? JSON.stringify(item.identities) : null,
        ],
      );
      const row = rows[0]!;
      return {
        streamId: item.streamId,
        nextVersion: Number(row.stream_version),
        positions: row.positions.map((p) => BigInt(p)),
        eventIds: row.event_ids,
        duplicate: row.outcome === 'duplicate',
      };
    } catch (error) {
      throw translateStoreError(error, item.streamId, item.expectedVersion);
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const { rows } = await this.run(() =>
      this.sql.query<EventRow>(
        READ_STREAM_SQL,
        [streamId, options.fromVersion ?? 1, options.toVersion ?? Number.MAX_SAFE_INTEGER],
      ),
    );
    return rows.map(toRecordedEvent);
  }

  async readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    const { rows } = await this.run(() =>
      this.sql.query<EventRow>(
        READ_ALL_SQL,
        [options.after.toString(), options.limit],
      ),
    );
    return rows.map(toRecordedEvent);
  }

  async streamVersion(streamId: string): Promise<number | undefined> {
    const { rows } = await this.run(() =>
      this.sql.query<{ version: string | null }>(
        'select max(version)::text as version from ledger_events where stream_id = $1',
        [streamId],
      ),
    );
    return rows[0]?.version ? Number(rows[0].version) : undefined;
  }

  async findDelivery(key: { source: string; sourceEventId: string }): Promise<AppendResult | undefined> {
    return (await this.loadCommandContext({ idempotencyKey: key, claims: [], streamIdPrefix: '' })).seen;
  }

  async recordedMetadata(key: { source: string; sourceEventId: string }): Promise<EventMetadata | undefined> {
    const { rows } = await this.run(() =>
      this.sql.query<{ metadata: EventMetadata }>(
        `select e.metadata
           from ledger_deliveries d join ledger_events e on e.position = d.positions[1]
          where d.source = $1 and d.source_event_id = $2`,
        [key.source, key.sourceEventId],
      ),
    );
    return rows[0]?.metadata;
  }

  async loadCommandContext(query: CommandContextQuery): Promise<CommandContext> {
    const row = await this.run(() => this.commandContexts.submit(query));
    const owners = new Map((row.owners ?? []).map((o) => [o.key, o.owner]));
    if (row.delivery) return { seen: seenDelivery(row.delivery), owners };
    if (row.owner_id === null) return { owners };
    return { owners, stream: { ownerId: row.owner_id, afterVersion: Number(row.after_version ?? 0), events: (row.events ?? []).map(toRecordedEvent) } };
  }

  async resolveIdentity(kind: string, externalId: string): Promise<string | undefined> {
    const { rows } = await this.run(() =>
      this.sql.query<{ customer_id: string }>(
        'select customer_id from ledger_identities where kind = $1 and external_id = $2',
        [kind, externalId],
      ),
    );
    return rows[0]?.customer_id;
  }

  async resolveIdentities(claims: IdentityClaim[]): Promise<Map<string, string>> {
    if (claims.length === 0) return new Map();
    const { rows } = await this.run(() =>
      this.sql.query<{ kind: string; external_id: string; customer_id: string }>(
        RESOLVE_IDENTITIES_SQL,
        [claims.map((c) => c.kind), claims.map((c) => c.externalId)],
      ),
    );
    return new Map(rows.map((r) => [`${r.kind}:${r.external_id}`, r.customer_id]));
  }

  async identitiesOf(customerId: string): Promise<IdentityClaim[]> {
    const { rows } = await this.run(() =>
      this.sql.query<{ kind: string; external_id: string }>(
        'select kind, external_id from ledger_identities where customer_id = $1 order by linked_at, kind',
        [customerId],
      ),
    );
    return rows.map((r) => ({ kind: r.kind, externalId: r.external_id }));
  }

  // The highest position a gap-safe reader can currently see.
  async headPosition(): Promise<bigint> {
    const { rows } = await this.run(() =>
      this.sql.query<{ head: string | null }>(
        `select max(position)::text as head from ledger_events
          where transaction_id < pg_snapshot_xmin(pg_current_snapshot())`,
      ),
    );
    return BigInt(rows[0]?.head ?? '0');
  }

  async close(): Promise<void> {
    await this.sql.close();
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw translateStoreError(error);
    }
  }
}
