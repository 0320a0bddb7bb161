import type { Migration } from '../eventstore/migrations.ts';
import { READ_MODEL_NAMES } from '../projector/projectorSchema.ts';

// An event's correlation id as its index holds it: a query must name it the same way to use it.
export const EVENT_CORRELATION_ID = `(metadata->>'correlationId') collate "C"`;

// `ledger trace <correlation id>` finds a delivery's whole chain by index, not by scanning the
// log: the events and inbox rows that carry the id, and the change-feed entries of their
// positions.
export const correlationMigrations: Migration[] = [
  {
    id: '0008_correlation_trail',
    sql: `
create index ledger_events_correlation on ledger_events ((metadata->>'correlationId'));
create index ledger_inbox_correlation on ledger_inbox (correlation_id);
${READ_MODEL_NAMES.map((name) => `create index read_${name}_changes_position on read_${name}_changes (position);`).join('\n')}
`,
  },
  {
    // Ids compare as bytes (eventstore/bytewiseKeys.ts); the trail's lookup says so to use it.
    id: '0025_correlation_bytewise',
    sql: `
drop index ledger_events_correlation;
create index ledger_events_correlation on ledger_events ((${EVENT_CORRELATION_ID}));
`,
  },
];
