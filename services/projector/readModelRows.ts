import type { CustomerState } from '../../domain/customerState.ts';
import { namedStatement, type SqlExecutor } from '../eventstore/sqlClient.ts';
import type { FoldMemo } from './foldMemo.ts';
import { resolveBases } from './readModelBasis.ts';

export interface ReadModelRow {
  doc: unknown;
  // The doc as JSON.stringify wrote it, where the runner already did (to tell whether it changed).
  docJson?: string | undefined;
  basis: CustomerState;
  position: string;
  // The basis already serialised as the write carries it (a fold shared by the runners, foldMemo.ts).
  basisLiteral?: () => string;
}

// A row as stored, its documents still JSON text: the runner parses the doc it applies to, and
// the basis only when the fold memo does not already hold the state at the row's position. A
// row stored without its basis (readModelBasis.ts) gets it as the text of another row's, or as
// the state itself (memoised, or folded from the stream; an Error if that fold failed).
export interface StoredRow {
  docJson: string | null;
  basisJson: string | null;
  position: string;
  basis?: CustomerState | Error;
}

export async function loadRows(tx: SqlExecutor, table: string, customerIds: string[]): Promise<Map<string, ReadModelRow>> {
  const { rows } = await tx.query<{ customer_id: string; doc: unknown; basis: string | null; position: string }>(
    `select customer_id, doc, basis, position::text as position from ${table} where customer_id = any($1::text[])`,
    [customerIds],
  );
  const stored = new Map(rows.map((r): [string, StoredRow] => [r.customer_id, { docJson: null, basisJson: r.basis, position: r.position }]));
  await resolveBases(tx, [stored]);
  return new Map(rows.map((r) => [r.customer_id, { doc: r.doc, basis: basisOf(stored.get(r.customer_id)!), position: r.position }]));
}

// The state a loaded row's basis holds; throws the error its fold from the stream failed with.
export function basisOf(row: StoredRow): CustomerState {
  if (row.basis instanceof Error) throw row.basis;
  return row.basis ?? (JSON.parse(row.basisJson!) as CustomerState);
}

// The batch's customers' rows and which of them have a parked event (whose later events wait),
// for several read models at once (a process's read models batch together): one round trip.
// Lateral probes per customer: always the primary key and the open-parked index, however large
// the tables (a join on the id array could be planned as a scan of the whole read model, and an
// EXISTS as one hash of every parked event of the projection).
const rowsAndHoldsSql = perTables('ledger_rows_holds', (tables) =>
  tables
    .map(
      (table, i) =>
        `select ${i} as part, c.customer_id, r.doc::text as doc, r.basis, r.position::text as position, h.held is not null as held
           from unnest($${2 * i + 1}::text[]) as c(customer_id)
           left join lateral (select t.doc, t.basis, t.position from ${table} t where t.customer_id = c.customer_id offset 0) r on true
           left join lateral (select true as held from ledger_parked_events p
                               where p.projection = $${2 * i + 2} and p.status = 'parked' and p.customer_id = c.customer_id limit 1) h on true`,
    )
    .join('\n         union all\n'),
);

export interface RowsRequest {
  table: string;
  projection: string;
  customerIds: string[];
}

export interface LoadedRows {
  rows: Map<string, StoredRow>;
  held: Set<string>;
}

export async function loadRowsAndHoldsOf(tx: SqlExecutor, requests: RowsRequest[], memo?: FoldMemo): Promise<LoadedRows[]> {
  const loaded = requests.map((): LoadedRows => ({ rows: new Map(), held: new Set() }));
  if (requests.length === 0) return loaded;
  const { rows } = await tx.query<{ part: number; customer_id: string; doc: string | null; basis: string | null; position: string | null; held: boolean }>(
    rowsAndHoldsSql(requests.map((r) => r.table)),
    requests.flatMap((r) => [r.customerIds, r.projection]),
  );
  for (const r of rows) {
    const into = loaded[r.part]!;
    if (r.position !== null) into.rows.set(r.customer_id, { docJson: r.doc, basisJson: r.basis, position: r.position });
    if (r.held) into.held.add(r.customer_id);
  }
  await resolveBases(tx, loaded.map((part) => part.rows), memo);
  return loaded;
}

// Where a store-polling batch moves its checkpoint to, written with its rows.
export interface CheckpointAdvance {
  name: string;
  position: string;
  shared: unknown;
}

export interface RowsWrite {
  table: string;
  rows: { customerId: string; row: ReadModelRow; docChanged: boolean }[];
  // A rebuild writes no feed entries while it replays; the swap announces what it changed.
  changeFeed: boolean;
  checkpoint?: CheckpointAdvance;
}

// One statement for the batch of several read models: each one's rows, change-feed entries and
// (store mode) checkpoint, as data-modifying CTEs; rows travel as JSON arrays (the same on pg and
// PGlite).
const writeRowsSql = perTables('ledger_write_rows', (tables) => {
  const ctes = tables.map((table, i) => {
    const p = (n: number) => `$${5 * i + n}`;
    return `upserted${i} as (
       insert into ${table} (customer_id, doc, basis, position)
       select customer_id, doc, basis, position from jsonb_to_recordset(${p(1)}::jsonb)
         as r(customer_id text, doc jsonb, basis text, position bigint)
       on conflict (customer_id) do update set doc = excluded.doc, basis = excluded.basis, position = excluded.position
       returning 1),
     fed${i} as (
       insert into ${changesTable(table)} (customer_id, position)
       select customer_id, position from jsonb_to_recordset(${p(2)}::jsonb) as r(customer_id text, position bigint)
       returning 1),
     advanced${i} as (
       update ledger_projection_checkpoints set position = ${p(4)}::bigint, shared = ${p(5)}::jsonb, updated_at = now()
        where name = ${p(3)}::text
       returning 1)`;
  });
  const counted = (name: string) => tables.map((_, i) => `(select count(*) from ${name}${i})`).join(' + ');
  return `with ${ctes.join(',\n     ')}
   select ${counted('upserted')} as rows, ${counted('fed')} as fed, ${counted('advanced')} as advanced`;
});

export async function writeRowsOf(tx: SqlExecutor, writes: RowsWrite[]): Promise<void> {
  const due = writes.filter((w) => w.rows.length > 0 || w.checkpoint !== undefined);
  if (due.length === 0) return;
  // The first row of a customer at a position carries the basis; the others leave it to that one.
  const carried = new Set<string>();
  const carries = ({ customerId, row }: { customerId: string; row: ReadModelRow }): boolean => {
    const key = `${customerId}@${row.position}`;
    if (carried.has(key)) return false;
    carried.add(key);
    return true;
  };
  await tx.query(
    writeRowsSql(due.map((w) => w.table)),
    due.flatMap(({ rows, changeFeed, checkpoint }) => [
      `[${rows.map((r) => rowJson(r, carries(r))).join(',')}]`,
      JSON.stringify((changeFeed ? rows.filter((r) => r.docChanged) : []).map(({ customerId, row }) => ({ customer_id: customerId, position: row.position }))),
      checkpoint?.name ?? null,
      checkpoint?.position ?? null,
      checkpoint ? JSON.stringify(checkpoint.shared) : null,
    ]),
  );
}

export async function writeRows(
  tx: SqlExecutor,
  table: string,
  rows: { customerId: string; row: ReadModelRow; docChanged: boolean }[],
  changeFeed = true,
  checkpoint?: CheckpointAdvance,
): Promise<void> {
  await writeRowsOf(tx, [{ table, rows, changeFeed, ...(checkpoint ? { checkpoint } : {}) }]);
}

// The basis travels as a JSON string holding its JSON text (its column is text): PostgreSQL reads
// a string, not a document.
export const basisLiteralOf = (basis: CustomerState): string => JSON.stringify(JSON.stringify(basis));

// Built by hand so that a basis serialised once (basisLiteral) is not serialised again.
const rowJson = ({ customerId, row }: { customerId: string; row: ReadModelRow }, withBasis: boolean): string =>
  `{"customer_id":${JSON.stringify(customerId)},"doc":${row.docJson ?? JSON.stringify(row.doc ?? null)},"basis":${withBasis ? (row.basisLiteral?.() ?? basisLiteralOf(row.basis)) : 'null'},"position":${JSON.stringify(row.position)}}`;

export const changesTable = (table: string): string => `${table.replace(/__rebuild$/, '')}_changes`;

// A projector batch runs these few statements; prepared (services/eventstore/sqlClient.ts),
// PostgreSQL plans each once per connection instead of once per batch, where planning cost as
// much as running them. One text per set of tables (in practice: the process's read models, or
// one of them). The statements only ever probe by key, so a generic plan cannot go stale as
// tables grow; a rebuild's swap (DDL) makes PostgreSQL re-plan them.
function perTables(prefix: string, build: (tables: string[]) => string): (tables: string[]) => string {
  const built = new Map<string, string>();
  return (tables) => {
    const key = tables.join(',');
    let text = built.get(key);
    if (text === undefined) {
      text = namedStatement(`${prefix}:${key}`, build(tables));
      built.set(key, text);
    }
    return text;
  };
}
