// ledger_append_batch, version 3 (migration 0016): the same contract as version 2
// (appendBatchSchema.ts: one answer row per item, in order, refusals as answers, a race raises),
// judged and written a set at a time instead of an item at a time.
//
// Version 2 runs some ten statements per item in a PL/pgSQL loop; at a few hundred deliveries a
// second it was the largest single cost in PostgreSQL (session 8, README › Performance). Most
// groups are items that cannot see one another — different customers' streams, different
// deliveries, different identity claims — and for those an item's answer does not depend on its
// neighbours, so every check can read the table as the statement found it: one statement judges
// them all (index probes per item), then one insert per table writes the accepted ones.
//
// Anything else goes to version 2, kept as ledger_append_batch_serial, which judges item after
// item: two appends to one stream or for one customer (the second is a version conflict, or in
// 'any' mode takes the next version), the same delivery twice (the second is its duplicate),
// one identity claimed twice, and 'any' mode (its next version is read under a per-stream lock,
// which only a statement that starts after the lock can see). So does a group of fewer than
// four appends, where the set statement's fixed cost outweighs what it saves.
//
// A race with another process ends as version 2's does: a unique violation (delivery, version,
// event) or LDG02 (an identity claimed meanwhile) aborts the statement and the client runs the
// items alone through ledger_append. The claim check cannot see a row committed after the
// statement began, so a claim nobody owned when it began and that its insert skipped is
// treated as taken: the client's per-item path then answers it exactly.
export const appendBatchSetSql = (eventsPerTransaction: number): string => `
alter function ledger_append_batch(jsonb) rename to ledger_append_batch_serial;
-- Its probes are planned once per session too (see below).
alter function ledger_append_batch_serial(jsonb) set enable_seqscan = off;

-- Whether no item's answer can depend on another's: the set path's precondition. PL/pgSQL, so
-- that its plan is kept: PostgreSQL 15 plans a SQL-language function's query on every call, a
-- third of a small group's cost.
create function ledger_append_items_independent(p_items jsonb) returns boolean
language plpgsql stable as $$
begin
  return coalesce((
    select count(*) = count(distinct t.e->>'stream')
           and count(*) = count(distinct t.e->>'customer')
           and bool_and(t.e->>'mode' in ('exact', 'no_stream'))
           and count(*) filter (where t.e->>'source_event_id' is not null)
             = count(distinct jsonb_build_array(t.e->'source', t.e->'source_event_id')) filter (where t.e->>'source_event_id' is not null)
           and (select count(*) = count(distinct jsonb_build_array(c->'kind', c->'externalId'))
                  from jsonb_array_elements(p_items) u(e),
                       jsonb_array_elements(case jsonb_typeof(u.e->'identities') when 'array' then u.e->'identities' else '[]' end) c)
      from jsonb_array_elements(p_items) t(e)), false);
end $$;

create function ledger_append_batch(p_items jsonb)
returns table (item int, outcome text, stream_version bigint, positions bigint[], event_ids uuid[],
               conflict_customer text, conflict_kind text, inbox_id bigint)
-- Every table read here is a probe by key, and a session keeps the plan it makes first. Planned
-- while a table was empty or small, a probe became a sequential scan (or a hash of the table),
-- kept while the table grew: sequential scans are off here, so the index is used whatever the
-- statistics said. The planner also costs each jsonb_array_elements at 100 rows: past a few
-- thousand customers the estimate crossed jit_above_cost, and compiling the statement with LLVM
-- took 100-200 ms of a call that runs in one or two.
set enable_seqscan = off
set jit = off
language plpgsql as $$
#variable_conflict use_column
declare
  v_xact xid8 := pg_current_xact_id();
  v_base bigint := (v_xact::text)::bigint * ${eventsPerTransaction};
  v_row record;
begin
  -- Below four appends the set statement's fixed cost outweighs what it saves (npm run bench --
  -- append: one append 0.8-1.1 ms of PostgreSQL CPU as a set, 0.5-0.7 item by item; equal at four).
  if jsonb_array_length(p_items) < 4 or not ledger_append_items_independent(p_items) then
    return query select * from ledger_append_batch_serial(p_items);
    return;
  end if;

  for v_row in
    with items as (
      select t.o::int as item, t.e->>'stream' as stream, t.e->>'customer' as customer, t.e->'events' as events,
             jsonb_array_length(t.e->'events') as n, t.e->>'source' as source, t.e->>'source_event_id' as dedup,
             case jsonb_typeof(t.e->'identities') when 'array' then t.e->'identities' else '[]' end as claims,
             t.e->>'mode' as mode, (t.e->>'expected')::bigint as expected, nullif(t.e->'inbox', 'null'::jsonb) as inbox
        from jsonb_array_elements(p_items) with ordinality as t(e, o)
    ),
    -- Each check an index probe per item. No EXISTS: the planner may answer one with a hash of
    -- the whole table (and a connection keeps that plan as the table grows); a scalar subquery
    -- with a limit is always a probe, and so is a lateral kept apart by offset 0.
    judged as materialized (
      select i.*, dup.positions as dup_positions, dup.event_ids as dup_ids, owners.taken_kind, owners.taken_by, owners.unowned,
             case
               when dup.positions is not null then 'duplicate'
               when i.mode = 'exact' and ((select true from ledger_events e where e.stream_id = i.stream and e.version = i.expected limit 1) is null
                                          or (select true from ledger_events e where e.stream_id = i.stream and e.version = i.expected + 1 limit 1))
                 then 'version_conflict'
               when i.mode = 'no_stream' and (select true from ledger_events e where e.stream_id = i.stream and e.version = 1 limit 1)
                 then 'version_conflict'
               when owners.taken_kind is not null then 'identity_conflict'
               else 'appended'
             end as outcome
        from items i
        left join lateral (select d.positions, d.event_ids from ledger_deliveries d
                            where d.source = i.source and d.source_event_id = i.dedup offset 0) dup on true
        -- Each claim's owner as the statement found it: the first one owned by another customer
        -- refuses the item; the ones nobody owned are what the item must insert (claim_lost).
        left join lateral (select (array_agg(o.kind order by o.ordinality) filter (where o.customer_id <> i.customer))[1] as taken_kind,
                                  (array_agg(o.customer_id order by o.ordinality) filter (where o.customer_id <> i.customer))[1] as taken_by,
                                  count(distinct o.claim) filter (where o.customer_id is null) as unowned
                             from (select c.value->>'kind' as kind, jsonb_build_array(c.value->'kind', c.value->'externalId') as claim, c.ordinality,
                                          (select l.customer_id from ledger_identities l
                                            where l.kind = c.value->>'kind' and l.external_id = c.value->>'externalId') as customer_id
                                     from jsonb_array_elements(i.claims) with ordinality c offset 0) o) owners on true
    ),
    -- Positions continue one another over the appended items, in item order, as in version 2.
    placed as (
      select j.*,
             v_base + coalesce(sum(j.n) filter (where j.outcome = 'appended') over (order by j.item rows between unbounded preceding and 1 preceding), 0) as first_position,
             case j.mode when 'exact' then j.expected + j.n else j.n end as new_version,
             case when j.inbox is not null and j.outcome in ('appended', 'duplicate')
                  then nextval(pg_get_serial_sequence('ledger_inbox', 'id')) end as new_inbox_id
        from judged j
    ),
    accepted as (
      select p.*, array(select p.first_position + g - 1 from generate_series(1, p.n) g) as new_positions,
             array(select (e->>'event_id')::uuid from jsonb_array_elements(p.events) e) as new_ids
        from placed p where p.outcome = 'appended'
    ),
    appended_events as (
      insert into ledger_events (position, transaction_id, stream_id, version, event_id, type, schema_version, data, metadata)
        select a.first_position + t.i - 1, v_xact, a.stream, a.new_version - a.n + t.i,
               (t.e->>'event_id')::uuid, t.e->>'type', (t.e->>'schema_version')::int, t.e->'data', t.e->'metadata'
          from accepted a, jsonb_array_elements(a.events) with ordinality as t(e, i)
    ),
    delivered as (
      insert into ledger_deliveries (source, source_event_id, stream_id, positions, event_ids)
        select a.source, a.dedup, a.stream, a.new_positions, a.new_ids from accepted a where a.dedup is not null
    ),
    claimed as (
      insert into ledger_identities (kind, external_id, customer_id)
        select c->>'kind', c->>'externalId', a.customer from accepted a, jsonb_array_elements(a.claims) c
        on conflict do nothing
        returning customer_id
    ),
    claimed_by as (select k.customer_id, count(*) as inserted from claimed k group by k.customer_id),
    kept as (
      insert into ledger_inbox (id, source, verified, headers, body, outcome, detail, correlation_id, source_event_ids)
        overriding system value
        select p.new_inbox_id, p.inbox->>'source', (p.inbox->>'verified')::boolean, p.inbox->'headers', p.inbox->>'body', p.outcome,
               nullif(p.inbox->'detail', 'null'::jsonb), p.inbox->>'correlation_id',
               array(select jsonb_array_elements_text(p.inbox->'source_event_ids'))
          from placed p where p.new_inbox_id is not null
    )
    select p.item, p.outcome,
           case p.outcome
             when 'appended' then p.new_version
             when 'duplicate' then (select e.version from ledger_events e where e.position = p.dup_positions[cardinality(p.dup_positions)])
           end as stream_version,
           case p.outcome when 'appended' then a.new_positions when 'duplicate' then p.dup_positions end as positions,
           case p.outcome when 'appended' then a.new_ids when 'duplicate' then p.dup_ids end as event_ids,
           case p.outcome when 'identity_conflict' then p.taken_by end as taken_by,
           case p.outcome when 'identity_conflict' then p.taken_kind end as taken_kind,
           p.new_inbox_id,
           -- A claim nobody owned when the statement began and that its insert skipped was taken
           -- by a transaction the statement cannot see (customers are distinct across items).
           p.outcome = 'appended' and p.unowned > coalesce(cb.inserted, 0) as claim_lost
      from placed p left join accepted a on a.item = p.item left join claimed_by cb on cb.customer_id = p.customer
     order by p.item
  loop
    if v_row.claim_lost then
      raise exception 'identity claimed by another transaction' using errcode = 'LDG02';
    end if;
    item := v_row.item;
    outcome := v_row.outcome;
    stream_version := v_row.stream_version;
    positions := v_row.positions;
    event_ids := v_row.event_ids;
    conflict_customer := v_row.taken_by;
    conflict_kind := v_row.taken_kind;
    inbox_id := v_row.new_inbox_id;
    return next;
  end loop;
end $$;
`;
