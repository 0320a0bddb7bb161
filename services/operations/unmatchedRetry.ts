import type { SqlExecutor } from '../eventstore/sqlClient.ts';
import { LedgerError } from '../../domain/errors.ts';
import { instruments } from '../telemetry/instruments.ts';
import { markMatched, readDeliveries, readUnmatched } from '../ingest/inbox.ts';
import { redeliverOne, type RedeliverDeps, type SourceRegistry } from './redeliver.ts';

// A delivery that names no customer the ledger knows yet (a refund or dispute found only through
// its charge, a payment intent before its checkout) is kept in the inbox as 'unmatched'. Providers
// do not deliver in order, so its customer often arrives seconds later: a refund that waited for
// a human to run `ledger redeliver` left a refunded customer with access. So the service tries
// unmatched deliveries again by itself, on a backoff from when each was received (1, 2, 4, 8 …
// intervals after it, as providers retry), for as long as the provider itself would retry (Stripe:
// three days); a delivery that now finds its customer is processed as a redelivery and marked
// matched. After the window it stays unmatched, for a human and `ledger redeliver`.

export interface UnmatchedRetryOptions {
  // The backoff's first step; 0 turns retrying off.
  intervalMs: number;
  // How long after receipt a delivery is still tried.
  windowMs: number;
  // Deliveries tried in one pass at most; the rest wait for their next step.
  limit?: number;
}

export interface UnmatchedRetryPass {
  // Unmatched deliveries inside the window, and those whose turn it was.
  waiting: number;
  tried: number;
  matched: number;
  failed: number;
  // Deliveries that failed, by inbox id and error code or name (never a payload).
  errors: string[];
}

const DEFAULT_LIMIT = 500;

// Whether a delivery received at `receivedAt` is due between the last pass and this one: a step
// of its backoff (receivedAt + interval × 2^k) fell in (lastPass, now]. With no last pass (the
// process just started) every waiting delivery is tried once.
export function isDue(receivedAt: number, lastPass: number | null, now: number, intervalMs: number): boolean {
  if (lastPass === null) return true;
  const step = (at: number) => (at - receivedAt < intervalMs ? -1 : Math.floor(Math.log2((at - receivedAt) / intervalMs)));
  return step(now) > step(lastPass);
}

export async function retryUnmatched(
  deps: RedeliverDeps & { sql: SqlExecutor },
  sources: SourceRegistry,
  options: UnmatchedRetryOptions,
  lastPass: number | null,
  // Checked between deliveries, so that a stopping service does not wait for a whole pass.
  stopping: () => boolean = () => false,
): Promise<UnmatchedRetryPass> {
  const now = deps.now().getTime();
  const waiting = await readUnmatched(deps.sql, new Date(now - options.windowMs).toISOString());
  const due = waiting.filter((delivery) => isDue(Date.parse(delivery.receivedAt), lastPass, now, options.intervalMs)).slice(0, options.limit ?? DEFAULT_LIMIT);
  const pass: UnmatchedRetryPass = { waiting: waiting.length, tried: due.length, matched: 0, failed: 0, errors: [] };
  for (const { id } of due) {
    if (stopping()) break;
    const [delivery] = await readDeliveries(deps.sql, { id });
    if (delivery === undefined) continue;
    let outcome: 'matched' | 'unmatched' | 'failed';
    try {
      const result = await redeliverOne(deps, sources, delivery);
      outcome = result.status === 'failed' ? 'failed' : result.facts.some((fact) => fact.outcome === 'unmatched') ? 'unmatched' : 'matched';
      // Refused by today's contract or rules (a LEDGER_* code, never the payload).
      if (result.status === 'failed') pass.errors.push(`inbox ${id}: ${result.error?.code ?? 'failed'}`);
    } catch (error) {
      // An outage fails every delivery alike: the pass stops and the next one starts where it
      // did. Anything else is this delivery's (a translator that throws on it): counted, and the
      // rest of the pass goes on, so one bad delivery cannot hold the others back for good.
      if (error instanceof LedgerError && error.code === 'LEDGER_STORE_UNAVAILABLE') throw error;
      outcome = 'failed';
      pass.errors.push(`inbox ${id}: ${error instanceof LedgerError ? error.code : error instanceof Error ? error.name : 'error'}`);
    }
    if (outcome === 'matched') await markMatched(deps.sql, id);
    if (outcome !== 'unmatched') pass[outcome] += 1;
    instruments().unmatchedRetries.add(1, { outcome });
  }
  return pass;
}

// Runs passes a quarter interval apart; a pass still running when the next is due is not
// doubled. The timer never keeps the process alive.
export function scheduleUnmatchedRetry(
  deps: RedeliverDeps & { sql: SqlExecutor },
  sources: SourceRegistry,
  options: UnmatchedRetryOptions,
  // `done` hears of a pass that matched or failed a delivery; `failed` of a pass that stopped.
  report: { done: (pass: UnmatchedRetryPass) => void; failed: (error: unknown) => void },
): () => Promise<void> {
  if (options.intervalMs <= 0) return async () => {};
  let lastPass: number | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;
  const runPass = () => {
    if (running !== null || stopped) return;
    const startedAt = deps.now().getTime();
    running = retryUnmatched(deps, sources, options, lastPass, () => stopped)
      .then((pass) => {
        lastPass = startedAt;
        if (pass.matched > 0 || pass.failed > 0) report.done(pass);
      })
      .catch(report.failed)
      .finally(() => {
        running = null;
      });
  };
  // Passes come four times a step, so a delivery is tried within a quarter of the interval of its
  // turn (with a pass every interval, a refund whose invoice came seconds later waited up to two).
  const timer = setInterval(runPass, Math.max(1, Math.floor(options.intervalMs / 4)));
  timer.unref();
  runPass();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}
