import type { Migration } from '../eventstore/migrations.ts';
import { bytewiseKeysSql } from '../eventstore/bytewiseKeys.ts';
import { lz4ColumnsSql } from '../eventstore/lz4Columns.ts';
import type { ReadModelName } from '../../projections/projection.ts';

export const READ_MODEL_NAMES: ReadModelName[] = ['crm', 'support', 'app'];

// Half of each page is left free for the next version of its rows (0024).
const READ_MODEL_FILLFACTOR = 50;

// One document per customer (`doc` is what the API serves, `basis` the customer's domain state
// the runtime folds to feed the read model), and a change feed for sync workers. The basis is
// JSON kept as text: only the runtime reads it, whole, and never a query inside it (0018). Null:
// another read model's row at the same position holds it, or the stream does (0019,
// readModelBasis.ts). Keys compare as bytes (bytewiseKeys.ts); pages keep room for a row's next
// version (0024).
const documentTableSql = (table: string): string => `
create table ${table} (
  customer_id text collate "C" primary key,
  doc jsonb,
  basis text,
  position bigint not null
) with (fillfactor = ${READ_MODEL_FILLFACTOR});`;

// The change feed's cursor carries the writing transaction's id in its high bits, like event
// positions: readers fence on pg_snapshot_xmin, so a change committed late (Kafka-mode projectors
// write concurrently) is never behind a cursor a reader has already passed. Low 20 bits: the
// row's order within its transaction.
const CURSOR_TXID_SHIFT = 20;
const cursorDefault = (changes: string): string =>
  `((pg_current_xact_id()::text::bigint << ${CURSOR_TXID_SHIFT}) | (nextval('${changes}_seq') & ${2 ** CURSOR_TXID_SHIFT - 1}))`;

const changesTableSql = (changes: string): string => `
create sequence if not exists ${changes}_seq;
create table if not exists ${changes} (
  cursor bigint primary key default ${cursorDefault(changes)},
  transaction_id xid8 not null default pg_current_xact_id(),
  customer_id text collate "C" not null,
  position bigint not null,
  changed_at timestamptz not null default now()
);
`;

// A row's doc and basis are rewritten on every event of its customer and pass the TOAST
// threshold as histories grow (lz4Columns.ts).
const lz4DocumentsSql = (table: string): string => lz4ColumnsSql(table, ['doc', 'basis']);

export const readModelTablesSql = (table: string): string =>
  `${documentTableSql(table)}${lz4DocumentsSql(table)}${changesTableSql(`${table.replace(/__rebuild$/, '')}_changes`)}`;

// As migration 0004 created them (applied migrations never change: their checksum is checked).
const readModelTablesSqlV1 = (table: string): string => `
create table ${table} (
  customer_id text primary key,
  doc jsonb,
  basis jsonb not null,
  position bigint not null
);
create table if not exists ${table.replace(/__rebuild$/, '')}_changes (
  cursor bigint generated always as identity primary key,
  customer_id text not null,
  position bigint not null,
  changed_at timestamptz not null default now()
);
`;

// 0004's identity cursors to fenced ones; rows already there keep their (smaller) cursors.
const fencedChangeFeedSql = (changes: string): string => `
create sequence ${changes}_seq;
alter table ${changes} alter column cursor drop identity;
alter table ${changes} add column transaction_id xid8 not null default pg_current_xact_id();
alter table ${changes} alter column cursor set default ${cursorDefault(changes)};
`;

export const projectorMigrations: Migration[] = [
  {
    id: '0004_projector',
    sql: `
create table ledger_projection_checkpoints (
  name text primary key,
  position bigint not null default 0,
  shared jsonb,
  updated_at timestamptz not null default now()
);
create table ledger_parked_events (
  id bigint generated always as identity primary key,
  projection text not null,
  position bigint not null,
  event_id uuid not null,
  customer_id text not null,
  -- 'failed': kept failing; 'held': a later event of a customer with a failed one (order kept).
  reason text not null,
  error text,
  attempts int not null default 0,
  status text not null default 'parked',
  parked_at timestamptz not null default now(),
  resolved_at timestamptz,
  resolved_by text,
  resolution_reason text,
  unique (projection, event_id)
);
create index ledger_parked_open on ledger_parked_events (projection, customer_id, position) where status = 'parked';
${READ_MODEL_NAMES.map((name) => readModelTablesSqlV1(`read_${name}`)).join('\n')}
`,
  },
  {
    id: '0009_fenced_change_feeds',
    sql: READ_MODEL_NAMES.map((name) => fencedChangeFeedSql(`read_${name}_changes`)).join(''),
  },
  {
    // Rows already stored keep their compression until their next rewrite.
    id: '0013_read_model_lz4',
    sql: READ_MODEL_NAMES.map((name) => lz4DocumentsSql(`read_${name}`)).join(''),
  },
  {
    // Every event rewrites three rows, each with the customer's whole state: as jsonb, turning it
    // into a document and back was about a third of PostgreSQL's cost per row (README ›
    // Performance, `bench -- rows`). Text is copied in and out. Rewrites the tables once.
    id: '0018_read_model_basis_text',
    sql: READ_MODEL_NAMES.map((name) => `alter table read_${name} alter column basis type text using basis::text;${lz4DocumentsSql(`read_${name}`)}`).join(''),
  },
  {
    // A batch stores a customer's basis once, not in each read model's row (readModelBasis.ts):
    // one ~1 KB copy per event instead of three.
    id: '0019_read_model_basis_once',
    sql: READ_MODEL_NAMES.map((name) => `alter table read_${name} alter column basis drop not null;`).join(''),
  },
  {
    // Every event rewrites its customer's row in each read model. With full pages the new version
    // went to another page and the primary key got a new entry each time (4-23 % of rewrites were
    // in place); with room on the page, PostgreSQL keeps it there and the index as it was (a
    // "HOT" update): 10-17 % less WAL per delivery (README › Performance). Pages written
    // from now on keep the room. Keys compare as bytes (bytewiseKeys.ts).
    id: '0024_read_models_in_place',
    sql: [
      ...READ_MODEL_NAMES.map((name) => `alter table read_${name} set (fillfactor = ${READ_MODEL_FILLFACTOR});`),
      bytewiseKeysSql({
        ...Object.fromEntries(READ_MODEL_NAMES.flatMap((name) => [[`read_${name}`, ['customer_id']], [`read_${name}_changes`, ['customer_id']]])),
        ledger_parked_events: ['projection', 'customer_id'],
      }),
    ].join('\n'),
  },
];
