import type { Migration } from '../eventstore/migrations.ts';
import type { ReadModelName } from '../../projections/projection.ts';

export const READ_MODEL_NAMES: ReadModelName[] = ['crm', 'support', 'app'];

// One document per customer (`doc` is what the API serves, `basis` the customer's domain state
// the runtime folds to feed the read model), and a change feed for sync workers.
export const readModelTablesSql = (table: string): string => `
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
${READ_MODEL_NAMES.map((name) => readModelTablesSql(`read_${name}`)).join('\n')}
`,
  },
];
