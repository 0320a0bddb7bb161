import type { CustomerState } from '../../domain/customerState.ts';
import { namedStatement, type SqlExecutor } from '../eventstore/sqlClient.ts';

export interface ReadModelRow {
  doc: unknown;
  basis: CustomerState;
  position: string;
  // The basis already serialised (a fold shared by the runners, foldMemo.ts).
  basisJson?: () => string;
}

// A row as stored, its documents still JSON text: the runner parses the doc it applies to, and
// the basis only when the fold memo does not already hold the state at the row's position.
export interface StoredRow {
  docJson: string | null;
  basisJson: string;
  position: string;
}

export async function loadRows(tx: SqlExecutor, table: string, customerIds: string[]): Promise<Map<string, ReadModelRow>> {
  const { rows } = await tx.query<{ customer_id: string; doc: unknown; basis: CustomerState; position: string }>(
    `select customer_id, doc, basis, position::text as position from ${table} where customer_id = any($1::text[])`,
    [customerIds],
  );
  return new Map(rows.map((r) => [r.customer_id, { doc: r.doc, basis: r.basis, position: r.position }]));
}

// The batch's customers' rows and which of them have a parked event (whose later events wait),
// in one round trip. Lateral probes per customer: always the primary key and the open-parked
// index, however large the tables (a join on the id array could be planned as a scan of the
// whole read model, and an EXISTS as one hash of every parked event of the projection).
const rowsAndHoldsSql = perTable('ledger_rows_holds', (table) =>
  `select c.customer_id, r.doc::text as doc, r.basis::text as basis, r.position::text as position, h.held is not null as held
     from unnest($1::text[]) as c(customer_id)
     left join lateral (select t.doc, t.basis, t.position from ${table} t where t.customer_id = c.customer_id offset 0) r on true
     left join lateral (select true as held from ledger_parked_events p
                         where p.projection = $2 and p.status = 'parked' and p.customer_id = c.customer_id limit 1) h on true`,
);

export async function loadRowsAndHolds(
  tx: SqlExecutor,
  table: string,
  projection: string,
  customerIds: string[],
): Promise<{ rows: Map<string, StoredRow>; held: Set<string> }> {
  const { rows } = await tx.query<{ customer_id: string; doc: string | null; basis: string | null; position: string | null; held: boolean }>(
    rowsAndHoldsSql(table),
    [customerIds, projection],
  );
  const stored = new Map<string, StoredRow>();
  const held = new Set<string>();
  for (const r of rows) {
    if (r.position !== null && r.basis !== null) stored.set(r.customer_id, { docJson: r.doc, basisJson: r.basis, position: r.position });
    if (r.held) held.add(r.customer_id);
  }
  return { rows: stored, held };
}

// Where a store-polling batch moves its checkpoint to, written with its rows.
export interface CheckpointAdvance {
  name: string;
  position: string;
  shared: unknown;
}

// One statement for the whole batch: the rows, their change-feed entries and (store mode) the
// checkpoint, as data-modifying CTEs; rows travel as JSON arrays (the same on pg and PGlite).
const writeRowsSql = perTable('ledger_write_rows', (table) =>
  `with upserted as (
     insert into ${table} (customer_id, doc, basis, position)
     select customer_id, doc, basis, position from jsonb_to_recordset($1::jsonb)
       as r(customer_id text, doc jsonb, basis jsonb, position bigint)
     on conflict (customer_id) do update set doc = excluded.doc, basis = excluded.basis, position = excluded.position
     returning 1),
   fed as (
     insert into ${changesTable(table)} (customer_id, position)
     select customer_id, position from jsonb_to_recordset($2::jsonb) as r(customer_id text, position bigint)
     returning 1),
   advanced as (
     update ledger_projection_checkpoints set position = $4::bigint, shared = $5::jsonb, updated_at = now()
      where name = $3::text
     returning 1)
   select (select count(*) from upserted) as rows, (select count(*) from fed) as fed, (select count(*) from advanced) as advanced`,
);

export async function writeRows(
  tx: SqlExecutor,
  table: string,
  rows: { customerId: string; row: ReadModelRow; docChanged: boolean }[],
  // A rebuild writes no feed entries while it replays; the swap announces what it changed.
  changeFeed = true,
  checkpoint?: CheckpointAdvance,
): Promise<void> {
  if (rows.length === 0 && checkpoint === undefined) return;
  const changed = changeFeed ? rows.filter((r) => r.docChanged) : [];
  await tx.query(
    writeRowsSql(table),
    [
      `[${rows.map(rowJson).join(',')}]`,
      JSON.stringify(changed.map(({ customerId, row }) => ({ customer_id: customerId, position: row.position }))),
      checkpoint?.name ?? null,
      checkpoint?.position ?? null,
      checkpoint ? JSON.stringify(checkpoint.shared) : null,
    ],
  );
}

// Built by hand so that a basis serialised once (basisJson) is not serialised again.
const rowJson = ({ customerId, row }: { customerId: string; row: ReadModelRow }): string =>
  `{"customer_id":${JSON.stringify(customerId)},"doc":${JSON.stringify(row.doc ?? null)},"basis":${row.basisJson?.() ?? JSON.stringify(row.basis)},"position":${JSON.stringify(row.position)}}`;

export const changesTable = (table: string): string => `${table.replace(/__rebuild$/, '')}_changes`;

// A projector batch runs these few statements per read model; prepared (services/eventstore/
// sqlClient.ts), PostgreSQL plans each once per connection instead of once per batch, where
// planning cost as much as running them. The statements only ever probe by key, so a generic
// plan cannot go stale as tables grow; a rebuild's swap (DDL) makes PostgreSQL re-plan them.
function perTable(prefix: string, build: (table: string) => string): (table: string) => string {
  const built = new Map<string, string>();
  return (table) => {
    let text = built.get(table);
    if (text === undefined) {
      text = namedStatement(`${prefix}:${table}`, build(table));
      built.set(table, text);
    }
    return text;
  };
}
