// Group commit for appends: the appends a process has queued while one statement was in
// flight go out as one statement, one transaction, one commit. Each item is judged exactly as
// ledger_append would judge it alone, in order, so an item sees the items before it (a second
// append to a stream the first one just wrote is a version conflict, as it would be serially).
//
// Refusals are answers, not exceptions: an item is checked (duplicate, version, identity
// owners) before anything of it is written, and a refused item leaves nothing behind, so one
// conflict never aborts its neighbours and no subtransaction is needed per item. Only a race
// with another process (a row committed between an item's check and its insert) raises; the
// client then runs the items one by one through ledger_append, which reports it as usual.
//
// Positions: every item shares the transaction's id, so they continue one another
// (xid8 * limit + offset); the client keeps a statement's events within the limit.
// Outcomes: appended | duplicate | version_conflict | identity_conflict (conflict_* say whose).
//
// Version 2 (0014) also keeps the delivery's inbox record when an item carries one (`inbox`):
// written in the same transaction as the append (or with the duplicate's answer), so a webhook
// delivery costs one commit instead of two. A refused item writes none; its retry carries it again.
export const appendBatchSql = (eventsPerTransaction: number, version: 1 | 2 = 1): string => {
  const v2 = version === 2;
  // Every answer row, in version 2, ends with the inbox row's id.
  const inboxCol = (value: string) => (v2 ? `, ${value}` : '');
  const keepInbox = (outcome: string) =>
    v2
      ? `
    if v_inbox is not null then
      insert into ledger_inbox (source, verified, headers, body, outcome, detail, correlation_id, source_event_ids)
        values (v_inbox->>'source', (v_inbox->>'verified')::boolean, v_inbox->'headers', v_inbox->>'body', '${outcome}',
                nullif(v_inbox->'detail', 'null'::jsonb), v_inbox->>'correlation_id',
                array(select jsonb_array_elements_text(v_inbox->'source_event_ids')))
        returning id into v_inbox_id;
    end if;`
      : '';
  return `${v2 ? '\ndrop function ledger_append_batch(jsonb);\n' : '\n'}create function ledger_append_batch(p_items jsonb)
returns table (item int, outcome text, stream_version bigint, positions bigint[], event_ids uuid[],
               conflict_customer text, conflict_kind text${inboxCol('inbox_id bigint')})
language plpgsql as $$
declare${v2 ? `
  v_inbox jsonb;
  v_inbox_id bigint;` : ''}
  v_xact xid8 := pg_current_xact_id();
  v_base bigint := (v_xact::text)::bigint * ${eventsPerTransaction};
  v_offset bigint := 0;
  v_item jsonb;
  v_i int;
  v_stream text;
  v_customer text;
  v_events jsonb;
  v_source text;
  v_dedup text;
  v_claims jsonb;
  v_expected bigint;
  v_count int;
  v_version bigint;
  v_positions bigint[];
  v_ids uuid[];
  v_prev record;
  v_conflict record;
begin
  for v_item, v_i in select t.e, t.o::int from jsonb_array_elements(p_items) with ordinality as t(e, o) loop
    v_stream := v_item->>'stream';
    v_customer := v_item->>'customer';
    v_events := v_item->'events';
    v_source := v_item->>'source';
    v_dedup := v_item->>'source_event_id';
    v_claims := nullif(v_item->'identities', 'null'::jsonb);
    v_expected := (v_item->>'expected')::bigint;
    v_count := jsonb_array_length(v_events);${v2 ? `
    v_inbox := nullif(v_item->'inbox', 'null'::jsonb);
    v_inbox_id := null;` : ''}

    if v_dedup is not null then
      select d.positions, d.event_ids into v_prev
        from ledger_deliveries d where d.source = v_source and d.source_event_id = v_dedup;
      if found then${keepInbox('duplicate')}
        return query select v_i, 'duplicate'::text,
          (select e.version from ledger_events e where e.position = v_prev.positions[cardinality(v_prev.positions)]),
          v_prev.positions, v_prev.event_ids, null::text, null::text${inboxCol('v_inbox_id')};
        continue;
      end if;
    end if;

    -- The checks ledger_append leaves to the (stream_id, version) key, made before writing.
    if v_item->>'mode' = 'exact' then
      if not exists (select 1 from ledger_events e where e.stream_id = v_stream and e.version = v_expected)
         or exists (select 1 from ledger_events e where e.stream_id = v_stream and e.version = v_expected + 1) then
        return query select v_i, 'version_conflict'::text, null::bigint, null::bigint[], null::uuid[], null::text, null::text${inboxCol('null::bigint')};
        continue;
      end if;
      v_version := v_expected + v_count;
    elsif v_item->>'mode' = 'no_stream' then
      if exists (select 1 from ledger_events e where e.stream_id = v_stream and e.version = 1) then
        return query select v_i, 'version_conflict'::text, null::bigint, null::bigint[], null::uuid[], null::text, null::text${inboxCol('null::bigint')};
        continue;
      end if;
      v_version := v_count;
    else
      perform pg_advisory_xact_lock(hashtext(v_stream));
      v_version := coalesce((select max(e.version) from ledger_events e where e.stream_id = v_stream), 0) + v_count;
    end if;

    if v_claims is not null and jsonb_array_length(v_claims) > 0 then
      select o.kind, o.customer_id into v_conflict
        from (select c->>'kind' as kind,
                     (select l.customer_id from ledger_identities l
                       where l.kind = c->>'kind' and l.external_id = c->>'externalId') as customer_id
                from jsonb_array_elements(v_claims) c offset 0) o
       where o.customer_id <> v_customer limit 1;
      if found then
        return query select v_i, 'identity_conflict'::text, null::bigint, null::bigint[], null::uuid[],
          v_conflict.customer_id, v_conflict.kind${inboxCol('null::bigint')};
        continue;
      end if;
    end if;

    select array_agg(v_base + v_offset + t.i - 1 order by t.i), array_agg((t.e->>'event_id')::uuid order by t.i)
      into v_positions, v_ids
      from jsonb_array_elements(v_events) with ordinality as t(e, i);

    if v_dedup is not null then
      -- The same delivery committed by another process since the check: a unique violation,
      -- and the group is re-run append by append (ledger_append answers it as a duplicate).
      insert into ledger_deliveries (source, source_event_id, stream_id, positions, event_ids)
        values (v_source, v_dedup, v_stream, v_positions, v_ids);
    end if;

    insert into ledger_events (position, transaction_id, stream_id, version, event_id, type, schema_version, data, metadata)
      select v_base + v_offset + t.i - 1, v_xact, v_stream, v_version - v_count + t.i,
             (t.e->>'event_id')::uuid, t.e->>'type', (t.e->>'schema_version')::int, t.e->'data', t.e->'metadata'
        from jsonb_array_elements(v_events) with ordinality as t(e, i);
    v_offset := v_offset + v_count;

    if v_claims is not null and jsonb_array_length(v_claims) > 0 then
      insert into ledger_identities (kind, external_id, customer_id)
        select c->>'kind', c->>'externalId', v_customer from jsonb_array_elements(v_claims) c
        on conflict do nothing;
      -- Another process claimed one of these ids since the check: the whole statement is undone.
      if exists (select 1 from jsonb_array_elements(v_claims) c
                  where (select l.customer_id from ledger_identities l
                          where l.kind = c->>'kind' and l.external_id = c->>'externalId') <> v_customer) then
        raise exception 'identity owned by another customer' using errcode = 'LDG02';
      end if;
    end if;
${keepInbox('appended')}
    return query select v_i, 'appended'::text, v_version, v_positions, v_ids, null::text, null::text${inboxCol('v_inbox_id')};
  end loop;
end $$;
`;
};
