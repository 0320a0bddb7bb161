import type { SqlExecutor } from '../eventstore/sqlClient.ts';

export interface CustomersPage {
  customerIds: string[];
  // The last id of this page when more may follow; null at the end.
  next: string | null;
}

// Customers in id order, a page at a time (`ledger replay --all` walks them all), optionally only
// those with an event recorded since a time.
export async function listCustomers(sql: SqlExecutor, options: { since?: string; after?: string; limit: number }): Promise<CustomersPage> {
  const { rows } = await sql.query<{ stream_id: string }>(
    `select stream_id from ledger_events
      where stream_id like 'customer-%' and stream_id > $1 and ($2::timestamptz is null or recorded_at >= $2::timestamptz)
      group by stream_id order by stream_id limit $3::int`,
    [`customer-${options.after ?? ''}`, options.since ?? null, options.limit],
  );
  const customerIds = rows.map((r) => r.stream_id.slice('customer-'.length));
  return { customerIds, next: customerIds.length === options.limit ? (customerIds.at(-1) ?? null) : null };
}
