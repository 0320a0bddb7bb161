import { readWaiting, type WaitingRow } from '../ingest/inbox.ts';
import { shownClaims } from '../ingest/waitingClaims.ts';
import type { SqlExecutor } from '../eventstore/sqlClient.ts';
import { nextTryAt, type UnmatchedRetryOptions } from './unmatchedRetry.ts';

// `ledger unmatched` (and GET /admin/unmatched): every delivery still waiting for a customer,
// oldest first, with what it waits for and when the service tries it next. Ids and times only.

export interface WaitingDelivery extends WaitingRow {
  // The service's next try on the backoff; null past the retry window (or retrying off).
  nextTryAt: string | null;
}

export interface UnmatchedReport {
  retry: { intervalSeconds: number; windowHours: number };
  deliveries: WaitingDelivery[];
  // More were waiting than listed.
  truncated: boolean;
}

const LIMIT = 1_000;

export async function unmatchedReport(sql: SqlExecutor, options: UnmatchedRetryOptions, now: Date): Promise<UnmatchedReport> {
  const rows = await readWaiting(sql, { limit: LIMIT + 1 });
  const deliveries = rows.slice(0, LIMIT).map((row): WaitingDelivery => {
    const next = nextTryAt(Date.parse(row.receivedAt), now.getTime(), options.intervalMs, options.windowMs);
    return { ...row, waitingFor: shownClaims(row.waitingFor), nextTryAt: next === null ? null : new Date(next).toISOString() };
  });
  return {
    retry: { intervalSeconds: options.intervalMs / 1000, windowHours: options.windowMs / 3_600_000 },
    deliveries,
    truncated: rows.length > LIMIT,
  };
}
