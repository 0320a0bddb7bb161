import type { Migration } from '../eventstore/migrations.ts';

// One row per topic the relay feeds: the global position of the last event the broker
// acknowledged. It moves only after the acknowledgement, in the batch's own transaction.
export const relayMigrations: Migration[] = [
  {
    id: '0007_kafka_relay',
    sql: `
create table ledger_relay_checkpoints (
  topic text primary key,
  position bigint not null default 0,
  produced bigint not null default 0,
  updated_at timestamptz not null default now()
);
`,
  },
];
