import type { CustomerState } from '../../domain/customerState.ts';
import type { SqlExecutor } from '../eventstore/sqlClient.ts';

export interface ReadModelRow {
  doc: unknown;
  basis: CustomerState;
  position: string;
}

export async function loadRows(tx: SqlExecutor, table: string, customerIds: string[]): Promise<Map<string, ReadModelRow>> {
  const { rows } = await tx.query<{ customer_id: string; doc: unknown; basis: CustomerState; position: string }>(
    `select customer_id, doc, basis, position::text as position from ${table} where customer_id = any($1::text[])`,
    [customerIds],
  );
  return new Map(rows.map((r) => [r.customer_id, { doc: r.doc, basis: r.basis, position: r.position }]));
}

// One statement for the whole batch: rows travel as one JSON array (the same on pg and PGlite).
export async function writeRows(
  tx: SqlExecutor,
  table: string,
  rows: { customerId: string; row: ReadModelRow; docChanged: boolean }[],
  // A rebuild writes no feed entries while it replays; the swap announces what it changed.
  changeFeed = true,
): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `insert into ${table} (customer_id, doc, basis, position)
     select customer_id, doc, basis, position from jsonb_to_recordset($1::jsonb)
       as r(customer_id text, doc jsonb, basis jsonb, position bigint)
     on conflict (customer_id) do update set doc = excluded.doc, basis = excluded.basis, position = excluded.position`,
    [JSON.stringify(rows.map(({ customerId, row }) => ({ customer_id: customerId, doc: row.doc ?? null, basis: row.basis, position: row.position })))],
  );
  const changed = changeFeed ? rows.filter((r) => r.docChanged) : [];
  if (changed.length > 0) {
    await tx.query(
      `insert into ${changesTable(table)} (customer_id, position)
       select customer_id, position from jsonb_to_recordset($1::jsonb) as r(customer_id text, position bigint)`,
      [JSON.stringify(changed.map(({ customerId, row }) => ({ customer_id: customerId, position: row.position })))],
    );
  }
}

export const changesTable = (table: string): string => `${table.replace(/__rebuild$/, '')}_changes`;
