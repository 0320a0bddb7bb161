import { randomUUID } from 'node:crypto';
import type { SqlClient, SqlExecutor } from '../eventstore/sqlClient.ts';
import { LedgerError } from '../../domain/errors.ts';
import { instruments } from '../telemetry/instruments.ts';
import { readDeliveries, readWaiting } from '../ingest/inbox.ts';
import { waitingClaimsOf, type Broadcast, type WaitingClaims } from '../ingest/waitingClaims.ts';
import { redeliverOne, type RedeliverDeps, type SourceRegistry } from './redeliver.ts';

// A delivery that names no customer the ledger knows yet (a refund or dispute found only through
// its charge, a payment intent before its checkout) is kept in the inbox as 'unmatched'. Providers
// do not deliver in order, so its customer often arrives seconds later: a refund that waited for
// a human to run `ledger redeliver` left a refunded customer with access. So the service tries
// unmatched deliveries again by itself, on a backoff from when each was received (1, 2, 4, 8 …
// intervals after it, as providers retry), for as long as the provider itself would retry (Stripe:
// three days); a delivery that now finds its customer is processed as a redelivery and marked
// matched. The delivery (or the admin's identity link) that brings its customer wakes it at once,
// in whichever process it reaches (services/ingest/waitingClaims.ts, announced below); the backoff
// is for what that misses (a lost announcement). After the window it stays unmatched, for a human
// and `ledger redeliver`.

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

// What started a pass: a delivery's turn on the backoff, or the arrival of a claim it waits for.
type Trigger = 'backoff' | 'arrival';

// Whether a delivery received at `receivedAt` is due between the last pass and this one: a step
// of its backoff (receivedAt + interval × 2^k) fell in (lastPass, now]. With no last pass (the
// process just started) every waiting delivery is tried once.
export function isDue(receivedAt: number, lastPass: number | null, now: number, intervalMs: number): boolean {
  if (lastPass === null) return true;
  const step = (at: number) => (at - receivedAt < intervalMs ? -1 : Math.floor(Math.log2((at - receivedAt) / intervalMs)));
  return step(now) > step(lastPass);
}

// When a delivery received at `receivedAt` is next tried on its backoff after `now` (the step
// isDue fires on; the pass comes within a quarter interval of it), or null once that is past the
// window (then `ledger redeliver`) or retrying is off.
export function nextTryAt(receivedAt: number, now: number, intervalMs: number, windowMs: number): number | null {
  if (intervalMs <= 0) return null;
  let step = intervalMs;
  while (receivedAt + step <= now) step *= 2;
  return step <= windowMs ? receivedAt + step : null;
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
  const claims = waitingClaimsOf(deps.store);
  const mark = claims.mark();
  const waiting = await readWaiting(deps.sql, { since: new Date(now - options.windowMs).toISOString() });
  claims.refresh(waiting.flatMap((delivery) => delivery.waitingFor), mark);
  const due = waiting.filter((delivery) => isDue(Date.parse(delivery.receivedAt), lastPass, now, options.intervalMs));
  return (await tryDeliveries(deps, sources, 'backoff', due.slice(0, options.limit ?? DEFAULT_LIMIT), waiting.length, stopping)).pass;
}

// The deliveries waiting for one of these claims, whatever their backoff says: a delivery just
// brought their customer (services/ingest/waitingClaims.ts).
export async function retryWaitingFor(
  deps: RedeliverDeps & { sql: SqlExecutor },
  sources: SourceRegistry,
  options: UnmatchedRetryOptions,
  keys: string[],
  stopping: () => boolean = () => false,
): Promise<UnmatchedRetryPass> {
  const since = new Date(deps.now().getTime() - options.windowMs).toISOString();
  const claims = waitingClaimsOf(deps.store);
  const mark = claims.mark();
  const waiting = await readWaiting(deps.sql, { since, waitingFor: keys });
  const limit = options.limit ?? DEFAULT_LIMIT;
  const { pass, stillWaiting } = await tryDeliveries(deps, sources, 'arrival', waiting.slice(0, limit), waiting.length, stopping);
  // Nothing the inbox holds waits for a claim any longer once its deliveries matched: later
  // appends with it (the refund itself, the customer's next invoice) need not look again.
  if (waiting.length <= limit && !stopping()) claims.forget(keys.filter((key) => !stillWaiting.has(key)), mark);
  return pass;
}

async function tryDeliveries(
  deps: RedeliverDeps & { sql: SqlExecutor },
  sources: SourceRegistry,
  trigger: Trigger,
  due: Array<{ inboxId: string; waitingFor: string[] }>,
  waiting: number,
  stopping: () => boolean,
): Promise<{ pass: UnmatchedRetryPass; stillWaiting: Set<string> }> {
  const pass: UnmatchedRetryPass = { waiting, tried: due.length, matched: 0, failed: 0, errors: [] };
  const stillWaiting = new Set<string>();
  for (const { inboxId: id, waitingFor } of due) {
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
    // A matched delivery is marked by redeliverOne.
    if (outcome !== 'matched') for (const key of waitingFor) stillWaiting.add(key);
    if (outcome !== 'unmatched') pass[outcome] += 1;
    instruments().unmatchedRetries.add(1, { outcome, trigger });
  }
  return { pass, stillWaiting };
}

// A delivery kept unmatched in one process is announced to the others on the store (PostgreSQL),
// so the process its customer's delivery reaches wakes it; each ignores its own announcements.
const WAITING_CHANNEL = 'ledger_unmatched_waiting';
// NOTIFY payloads stop at 8,000 bytes; a delivery's claims are a few short ids.
const MAX_ANNOUNCED = 7_000;

async function announceAcrossProcesses(sql: SqlClient, claims: WaitingClaims): Promise<{ broadcast: Broadcast; stop: () => Promise<void> }> {
  if (sql.kind !== 'postgres') return { broadcast: () => {}, stop: async () => {} };
  const own = randomUUID();
  const unlisten = await sql.listen(WAITING_CHANNEL, (payload) => {
    try {
      const { from, keys } = JSON.parse(payload) as { from?: unknown; keys?: unknown };
      if (from !== own && Array.isArray(keys)) claims.heard(keys.filter((key): key is string => typeof key === 'string'));
    } catch {
      // Not ours to read: the backoff pass still finds whatever it was about.
    }
  });
  const broadcast: Broadcast = (keys) => {
    const payload = JSON.stringify({ from: own, keys });
    if (Buffer.byteLength(payload) <= MAX_ANNOUNCED) sql.query('select pg_notify($1, $2)', [WAITING_CHANNEL, payload]).catch(() => {});
  };
  return { broadcast, stop: unlisten };
}

// Runs backoff passes a quarter interval apart, and a pass for the deliveries a new arrival may
// have matched as soon as it is appended; one pass at a time (a backoff pass still running when
// the next is due is not doubled; arrivals meanwhile are gathered into one pass after it). The
// timer never keeps the process alive.
export async function scheduleUnmatchedRetry(
  deps: RedeliverDeps & { sql: SqlClient },
  sources: SourceRegistry,
  options: UnmatchedRetryOptions,
  // `done` hears of every pass that ran through; `failed` of a pass that stopped.
  report: { done: (pass: UnmatchedRetryPass & { trigger: Trigger }) => void; failed: (error: unknown) => void },
): Promise<() => Promise<void>> {
  if (options.intervalMs <= 0) return async () => {};
  let lastPass: number | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;
  const arrivals = new Set<string>();
  const run = (trigger: Trigger, pass: () => Promise<UnmatchedRetryPass>, after: () => void = () => {}) => {
    running = pass()
      .then((done) => {
        after();
        report.done({ ...done, trigger });
      })
      .catch(report.failed)
      .finally(() => {
        running = null;
        runArrivals();
      });
  };
  const claims = waitingClaimsOf(deps.store);
  const runArrivals = () => {
    if (running !== null || stopped) return;
    // Still waited for: the pass just run may have matched what waited (the refund's own append
    // names the claims that woke it).
    const keys = [...arrivals].filter((key) => claims.has(key));
    arrivals.clear();
    if (keys.length > 0) run('arrival', () => retryWaitingFor(deps, sources, options, keys, () => stopped));
  };
  const runPass = () => {
    if (running !== null || stopped) return;
    const startedAt = deps.now().getTime();
    run('backoff', () => retryUnmatched(deps, sources, options, lastPass, () => stopped), () => {
      lastPass = startedAt;
    });
  };
  // Without it (LISTEN refused at start) deliveries kept elsewhere wait for their backoff step.
  const across = await announceAcrossProcesses(deps.sql, claims).catch((error: unknown) => {
    report.failed(error);
    return { broadcast: () => {}, stop: async () => {} };
  });
  const unlisten = claims.listen((keys) => {
    for (const key of keys) arrivals.add(key);
    runArrivals();
  }, across.broadcast);
  // Passes come four times a step, so a delivery is tried within a quarter of the interval of its
  // turn (with a pass every interval, a refund whose invoice came seconds later waited up to two).
  const timer = setInterval(runPass, Math.max(1, Math.floor(options.intervalMs / 4)));
  timer.unref();
  runPass();
  return async () => {
    stopped = true;
    unlisten();
    await across.stop().catch(() => {});
    clearInterval(timer);
    await running;
  };
}
