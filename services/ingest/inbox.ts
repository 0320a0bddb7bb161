import { bytewiseKeysSql } from '../eventstore/bytewiseKeys.ts';
import { lz4ColumnsSql } from '../eventstore/lz4Columns.ts';
import type { Migration } from '../eventstore/migrations.ts';
import type { InboxRecord } from '../eventstore/port.ts';
import { namedStatement, type SqlExecutor } from '../eventstore/sqlClient.ts';
import { StatementGroup } from '../eventstore/statementGroup.ts';
import { onePer } from '../onePer.ts';

// Every verified delivery, kept as received so it can be re-processed after a mapper fix
// (`ledger redeliver`). Signatures and secrets are never kept: headers pass an allow-list.
// A delivery still waiting for a customer: one of its facts found none (`waiting_for`; before
// 0021, the outcome alone said so), and it has not matched since (`matched_at`).
export const WAITING = `(outcome = 'unmatched' or waiting_for is not null)`;

export const inboxMigrations: Migration[] = [
  {
    id: '0002_inbox',
    sql: `
create table ledger_inbox (
  id bigint generated always as identity primary key,
  source text not null,
  received_at timestamptz not null default now(),
  verified boolean not null,
  headers jsonb not null,
  body text not null,
  outcome text not null,
  detail jsonb,
  correlation_id text not null,
  source_event_ids text[] not null default '{}'
);
create index ledger_inbox_received on ledger_inbox (received_at);
create index ledger_inbox_source on ledger_inbox (source, received_at);
`,
  },
  // A body is the provider's whole payload (a Stripe event is 2-4 kB): compressed on every
  // delivery, with pglz that was a few percent of PostgreSQL's CPU at the ingest bench's max.
  { id: '0015_inbox_lz4', sql: lz4ColumnsSql('ledger_inbox', ['body']) },
  // An unmatched delivery whose customer turned up later and that was then processed
  // (services/operations/unmatchedRetry.ts); the outcome stays what it was on arrival.
  {
    id: '0020_inbox_matched',
    sql: `
alter table ledger_inbox add column matched_at timestamptz;
create index ledger_inbox_waiting on ledger_inbox (received_at) where outcome = 'unmatched' and matched_at is null;
`,
  },
  // The claims a delivery's unmatched facts wait for (services/ingest/waitingClaims.ts): the
  // delivery that brings one wakes it. Null when none is unmatched, and for deliveries kept before
  // it (those wait by their outcome). A batch whose other facts were appended waits too.
  {
    id: '0021_inbox_waiting_for',
    sql: `
alter table ledger_inbox add column waiting_for text[];
drop index ledger_inbox_waiting;
create index ledger_inbox_waiting on ledger_inbox (received_at) where ${WAITING} and matched_at is null;
`,
  },
  { id: '0023_inbox_keys_bytewise', sql: bytewiseKeysSql({ ledger_inbox: ['source', 'correlation_id'] }) },
];

export type InboxOutcome = 'appended' | 'duplicate' | 'ignored' | 'unmatched' | 'failed';

const SAFE_HEADERS = new Set([
  'content-type',
  'user-agent',
  'x-correlation-id',
  'traceparent',
  'idempotency-key',
  'x-hubspot-request-timestamp',
  'x-zendesk-webhook-signature-timestamp',
  'x-zendesk-webhook-id',
  'x-zendesk-webhook-invocation-id',
]);

export function safeHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (SAFE_HEADERS.has(lower) && value !== undefined) kept[lower] = Array.isArray(value) ? value.join(', ') : value;
  }
  return kept;
}

export interface InboxEntry extends InboxRecord {
  outcome: InboxOutcome;
  // The claims (`kind:externalId`) of its facts that found no customer, if any did not.
  waitingFor?: string[];
}

// Deliveries recorded while an insert is in flight share the next one (StatementGroup): one
// statement and one commit for all of them; rows come back in the order they were sent.
const RECORD_DELIVERIES_SQL = namedStatement(
  'ledger_record_deliveries',
  `insert into ledger_inbox (source, verified, headers, body, outcome, detail, correlation_id, source_event_ids, waiting_for)
   select source, verified, headers, body, outcome, detail, correlation_id, source_event_ids, waiting_for
     from jsonb_to_recordset($1::jsonb) as r(source text, verified boolean, headers jsonb, body text, outcome text,
                                             detail jsonb, correlation_id text, source_event_ids text[], waiting_for text[])
   returning id::text as id`,
);

async function insertDeliveries(sql: SqlExecutor, entries: InboxEntry[]): Promise<string[]> {
  const rows = entries.map((entry) => ({
    source: entry.source,
    verified: entry.verified,
    headers: entry.headers,
    body: entry.body,
    outcome: entry.outcome,
    detail: entry.detail ?? null,
    correlation_id: entry.correlationId,
    source_event_ids: entry.sourceEventIds,
    waiting_for: entry.waitingFor ?? null,
  }));
  const { rows: ids } = await sql.query<{ id: string }>(RECORD_DELIVERIES_SQL, [JSON.stringify(rows)]);
  return ids.map((row) => row.id);
}

const writerOf = onePer((sql: SqlExecutor) => new StatementGroup<InboxEntry, string>((entries) => insertDeliveries(sql, entries)));

export async function recordDelivery(sql: SqlExecutor, entry: InboxEntry): Promise<string> {
  return writerOf(sql).submit(entry);
}

// A delivery refused after the store kept it with its answer (services/ingest/reusedEventId.ts).
export async function forgetDelivery(sql: SqlExecutor, id: string): Promise<void> {
  await sql.query('delete from ledger_inbox where id = $1::bigint', [id]);
}

export interface StoredDelivery {
  id: string;
  source: string;
  receivedAt: string;
  headers: Record<string, string>;
  body: string;
  outcome: InboxOutcome;
  correlationId: string;
  // Still waiting for a customer (WAITING, not matched since).
  waiting: boolean;
}

export async function readDeliveries(
  sql: SqlExecutor,
  filter: { id?: string; since?: string; afterId?: string; source?: string; limit?: number },
): Promise<StoredDelivery[]> {
  const { rows } = await sql.query<{
    id: string;
    source: string;
    received_at: Date | string;
    headers: Record<string, string>;
    body: string;
    outcome: InboxOutcome;
    correlation_id: string;
    waiting: boolean;
  }>(
    `select id::text as id, source, received_at, headers, body, outcome, correlation_id, (${WAITING} and matched_at is null) as waiting
       from ledger_inbox
      where ($1::bigint is null or id = $1::bigint)
        and ($2::timestamptz is null or received_at >= $2::timestamptz)
        and ($3::text is null or source = $3::text)
        and ($5::bigint is null or id > $5::bigint)
      order by ledger_inbox.id limit $4::int`,
    [filter.id ?? null, filter.since ?? null, filter.source ?? null, filter.limit ?? 10_000, filter.afterId ?? null],
  );
  return rows.map((r) => ({
    id: r.id,
    source: r.source,
    receivedAt: new Date(r.received_at).toISOString(),
    headers: r.headers,
    body: r.body,
    outcome: r.outcome,
    correlationId: r.correlation_id,
    waiting: r.waiting,
  }));
}

export interface WaitingRow {
  inboxId: string;
  source: string;
  receivedAt: string;
  correlationId: string;
  sourceEventIds: string[];
  // On arrival: unmatched, or appended for a batch whose other facts were.
  outcome: string;
  // The claims it waits for; empty for deliveries kept before 0021.
  waitingFor: string[];
}

// Deliveries still waiting for a customer (WAITING, not matched since), oldest first: received
// since `since` (the retry's window) and, with `waitingFor`, waiting for one of those claims.
export async function readWaiting(sql: SqlExecutor, filter: { since?: string; waitingFor?: string[]; limit?: number } = {}): Promise<WaitingRow[]> {
  const { rows } = await sql.query<{
    id: string;
    source: string;
    received_at: Date | string;
    correlation_id: string;
    source_event_ids: string[];
    outcome: string;
    waiting_for: string[] | null;
  }>(
    `select id::text as id, source, received_at, correlation_id, source_event_ids, outcome, waiting_for from ledger_inbox
      where ${WAITING} and matched_at is null
        and ($1::timestamptz is null or received_at >= $1::timestamptz)
        and ($2::text[] is null or waiting_for && $2::text[])
      order by ledger_inbox.received_at, ledger_inbox.id limit $3::int`,
    [filter.since ?? null, filter.waitingFor ?? null, filter.limit ?? 100_000],
  );
  return rows.map((r) => ({
    inboxId: r.id,
    source: r.source,
    receivedAt: new Date(r.received_at).toISOString(),
    correlationId: r.correlation_id,
    sourceEventIds: r.source_event_ids,
    outcome: r.outcome,
    waitingFor: r.waiting_for ?? [],
  }));
}

export async function markMatched(sql: SqlExecutor, id: string): Promise<void> {
  await sql.query(`update ledger_inbox set matched_at = now() where id = $1::bigint and matched_at is null`, [id]);
}

// In batches, so that each statement stays well inside DATABASE_QUERY_TIMEOUT_MS however large
// the backlog (the first prune after the retention is lowered may have millions of rows).
const PRUNE_BATCH = 5_000;

export async function pruneInbox(sql: SqlExecutor, retentionDays: number, batch = PRUNE_BATCH): Promise<number> {
  let pruned = 0;
  for (;;) {
    const { rowCount } = await sql.query(
      `delete from ledger_inbox where id in (
         select id from ledger_inbox where received_at < now() - make_interval(days => $1::int) limit $2::int)`,
      [retentionDays, batch],
    );
    pruned += rowCount;
    if (rowCount < batch) return pruned;
  }
}

// Prunes once at start and then hourly; the timer never keeps the process alive.
export function scheduleInboxPruning(
  sql: SqlExecutor,
  retentionDays: number,
  onError: (error: unknown) => void,
): () => void {
  const prune = () => void pruneInbox(sql, retentionDays).catch(onError);
  prune();
  const timer = setInterval(prune, 60 * 60 * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
