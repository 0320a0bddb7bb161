import { appendBatchSql } from './appendBatchSchema.ts';
import { appendBatchSetSql } from './appendBatchSetSchema.ts';
import { bytewiseKeysSql } from './bytewiseKeys.ts';
import type { Migration } from './migrations.ts';

// Positions are derived from the appending transaction's id (xid8 * 4096 + index), so position
// order IS transaction-id order. A reader that only reads below pg_snapshot_xmin() therefore
// never passes a position that an in-flight transaction could still fill (DESIGN.md, gap
// safety) — with no global lock on the write path.
export const EVENTS_PER_APPEND_LIMIT = 4096;

// The identity check of each version of ledger_append; the rest of the function is unchanged.
const IDENTITY_CHECKS = {
  1: `    select l.kind, l.customer_id into v_conflict
      from jsonb_array_elements(p_identities) c
      join ledger_identities l on l.kind = c->>'kind' and l.external_id = c->>'externalId'
      where l.customer_id <> p_customer limit 1;
`,
  // A scalar subquery per claim is always an index probe. As a join, jsonb_array_elements'
  // estimate of 100 rows made the planner hash the whole identities table on every append
  // until it held some 30,000 rows: the append's cost grew with the number of customers.
  2: `    select o.kind, o.customer_id into v_conflict
      from (select c->>'kind' as kind,
                   (select l.customer_id from ledger_identities l
                     where l.kind = c->>'kind' and l.external_id = c->>'externalId') as customer_id
              from jsonb_array_elements(p_identities) c) o
      where o.customer_id <> p_customer limit 1;
`,
} as const;

const eventStoreV1 = `
create table ledger_events (
  position bigint primary key,
  transaction_id xid8 not null,
  stream_id text not null,
  version bigint not null,
  event_id uuid not null,
  type text not null,
  schema_version int not null,
  data jsonb not null,
  metadata jsonb not null,
  recorded_at timestamptz not null default now(),
  constraint ledger_events_stream_version unique (stream_id, version)
);

-- One row per external delivery (source, source event id): the dedup key and the original result.
create table ledger_deliveries (
  source text not null,
  source_event_id text not null,
  stream_id text not null,
  positions bigint[] not null,
  event_ids uuid[] not null,
  recorded_at timestamptz not null default now(),
  primary key (source, source_event_id)
);

-- External id -> customer. Written in the append's own statement: one customer, never two.
create table ledger_identities (
  kind text not null,
  external_id text not null,
  customer_id text not null,
  linked_at timestamptz not null default now(),
  primary key (kind, external_id)
);
create index ledger_identities_customer on ledger_identities (customer_id);

create function ledger_refuse_change() returns trigger language plpgsql as $$
begin
  raise exception 'ledger_events is append-only: % refused', tg_op using errcode = 'LDG03';
end $$;
create trigger ledger_events_immutable before update or delete on ledger_events
  for each row execute function ledger_refuse_change();
create trigger ledger_events_no_truncate before truncate on ledger_events
  for each statement execute function ledger_refuse_change();

-- One statement per append: one round trip and one commit, no client-held transaction.
-- p_mode: 'exact' (p_expected is the current version), 'no_stream', 'any'.
-- Raises LDG01 or 23505 on ledger_events_stream_version (version conflict) and LDG02 (identity
-- owned by another customer; detail = that customer id, hint = kind).
${ledgerAppendSql(1)}`;

// The columns the append probes by key on every delivery (bytewiseKeys.ts).
const STORE_KEY_COLUMNS = {
  ledger_events: ['stream_id'],
  ledger_deliveries: ['source', 'source_event_id', 'stream_id'],
  ledger_identities: ['kind', 'external_id', 'customer_id'],
};

// Applied migrations are checksummed, so version 1 must keep producing 0001's exact text.
function ledgerAppendSql(version: keyof typeof IDENTITY_CHECKS): string {
  const create = version === 1 ? 'create' : 'create or replace';
  const identityCheck = IDENTITY_CHECKS[version];
  return `${create} function ledger_append(
  p_stream text, p_mode text, p_expected bigint, p_customer text, p_events jsonb,
  p_dedup_source text, p_dedup_id text, p_identities jsonb
) returns table (outcome text, stream_version bigint, positions bigint[], event_ids uuid[])
language plpgsql as $$
declare
  v_count int := jsonb_array_length(p_events);
  v_base bigint;
  v_positions bigint[];
  v_ids uuid[];
  v_version bigint;
  v_prev record;
  v_conflict record;
begin
  if p_dedup_id is not null then
    select d.stream_id, d.positions, d.event_ids into v_prev
      from ledger_deliveries d where d.source = p_dedup_source and d.source_event_id = p_dedup_id;
    if found then
      return query select 'duplicate'::text,
        (select e.version from ledger_events e where e.position = v_prev.positions[cardinality(v_prev.positions)]),
        v_prev.positions, v_prev.event_ids;
      return;
    end if;
  end if;

  v_base := (pg_current_xact_id()::text)::bigint * ${EVENTS_PER_APPEND_LIMIT};
  select array_agg(v_base + i - 1 order by i), array_agg((e->>'event_id')::uuid order by i)
    into v_positions, v_ids
    from jsonb_array_elements(p_events) with ordinality as t(e, i);

  if p_dedup_id is not null then
    -- A concurrent delivery with the same key blocks here until it commits, then we see its row.
    insert into ledger_deliveries (source, source_event_id, stream_id, positions, event_ids)
      values (p_dedup_source, p_dedup_id, p_stream, v_positions, v_ids)
      on conflict do nothing;
    if not found then
      select d.positions, d.event_ids into v_prev
        from ledger_deliveries d where d.source = p_dedup_source and d.source_event_id = p_dedup_id;
      return query select 'duplicate'::text,
        (select e.version from ledger_events e where e.position = v_prev.positions[cardinality(v_prev.positions)]),
        v_prev.positions, v_prev.event_ids;
      return;
    end if;
  end if;

  -- Optimistic concurrency rides on the (stream_id, version) unique key: a concurrent writer
  -- of the same version fails with 23505 on ledger_events_stream_version, which the client
  -- reports as a version conflict. No separate streams row to write on every append.
  if p_mode = 'exact' then
    if not exists (select 1 from ledger_events e where e.stream_id = p_stream and e.version = p_expected) then
      raise exception 'version conflict' using errcode = 'LDG01';
    end if;
    v_version := p_expected + v_count;
  elsif p_mode = 'no_stream' then
    v_version := v_count;
  else
    -- 'any' writers of one stream queue on a lock instead of racing for the same next version.
    perform pg_advisory_xact_lock(hashtext(p_stream));
    v_version := coalesce((select max(e.version) from ledger_events e where e.stream_id = p_stream), 0) + v_count;
  end if;

  insert into ledger_events (position, transaction_id, stream_id, version, event_id, type, schema_version, data, metadata)
    select v_base + i - 1, pg_current_xact_id(), p_stream, v_version - v_count + i,
           (e->>'event_id')::uuid, e->>'type', (e->>'schema_version')::int, e->'data', e->'metadata'
      from jsonb_array_elements(p_events) with ordinality as t(e, i);

  if p_identities is not null and jsonb_array_length(p_identities) > 0 then
    insert into ledger_identities (kind, external_id, customer_id)
      select c->>'kind', c->>'externalId', p_customer from jsonb_array_elements(p_identities) c
      on conflict do nothing;
${identityCheck}    if found then
      raise exception 'identity owned by another customer' using errcode = 'LDG02',
        detail = v_conflict.customer_id, hint = v_conflict.kind;
    end if;
  end if;

  return query select 'appended'::text, v_version, v_positions, v_ids;
end $$;
`;
}

export const eventStoreMigrations: Migration[] = [
  { id: '0001_event_store', sql: eventStoreV1 },
  { id: '0010_append_identity_probes', sql: ledgerAppendSql(2) },
  { id: '0011_append_batch', sql: appendBatchSql(EVENTS_PER_APPEND_LIMIT) },
  // Needs ledger_inbox (0002_inbox), which every database has: migrations run together.
  { id: '0014_append_batch_inbox', sql: appendBatchSql(EVENTS_PER_APPEND_LIMIT, 2) },
  // Version 2 stays, renamed, for groups whose items depend on one another.
  { id: '0016_append_batch_set', sql: appendBatchSetSql(EVENTS_PER_APPEND_LIMIT) },
  // The single append (a group's items after a lost race) planned as the group functions are: a
  // session that first ran it on an empty store kept a sequential scan of ledger_identities.
  {
    id: '0017_append_probes',
    sql: 'alter function ledger_append(text, text, bigint, text, jsonb, text, text, jsonb) set enable_seqscan = off;',
  },
  { id: '0022_store_keys_bytewise', sql: bytewiseKeysSql(STORE_KEY_COLUMNS) },
];
