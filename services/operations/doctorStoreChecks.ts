import { ProjectionsStatus } from '../../contracts/api/adminApi.ts';
import { parseWith } from '../../contracts/parseBody.ts';
import { UNMATCHED_RETRY_HOURS_DEFAULT } from '../../contracts/config.ts';
import type { DoctorSettings } from '../../contracts/doctorEnv.ts';
import { isQueryTimeout } from '../eventstore/pgClient.ts';
import { loadConfig } from '../config.ts';
import { WAITING } from '../ingest/inbox.ts';
import { projectionStatus, type ProjectionsReport } from '../projector/projectionStatus.ts';
import { READ_MODEL_NAMES } from '../projector/projectorSchema.ts';
import { projectionsStatus } from './projectionOperations.ts';
import { fail, pass, skip, type CheckResult, type DoctorContext } from './doctorResult.ts';

// The store and the projection runtime, directly or through the running service's health and
// admin routes (when it holds the embedded store).

const QUERY_CANCELED = '57014'; // SQLSTATE: by statement_timeout, or by an operator

// A statement the store did not finish fails its own check, and the other checks still run. The
// direct PostgreSQL store is opened with LEDGER_DOCTOR_QUERY_TIMEOUT_SECONDS, so a lock held by
// another session or a server that cannot answer ends as a fail here, not as a doctor that hangs.
async function answered(name: string, settings: DoctorSettings, check: () => Promise<CheckResult>): Promise<CheckResult> {
  try {
    return await check();
  } catch (error) {
    return unanswered(name, settings, error);
  }
}

function unanswered(name: string, settings: DoctorSettings, error: unknown): CheckResult {
  const timedOut = isQueryTimeout(error) || (error as { code?: unknown }).code === QUERY_CANCELED && /statement timeout/.test((error as Error).message);
  const seconds = settings.LEDGER_DOCTOR_QUERY_TIMEOUT_SECONDS;
  return timedOut
    ? fail(
        name,
        `the store did not answer within ${seconds} s (LEDGER_DOCTOR_QUERY_TIMEOUT_SECONDS)`,
        "another session may hold a lock on the table: `select pid, mode, relation::regclass, xact_start, query from pg_locks join pg_stat_activity using (pid) where granted and mode = 'AccessExclusiveLock'`; end it, or wait longer with LEDGER_DOCTOR_QUERY_TIMEOUT_SECONDS",
      )
    : fail(name, `the store failed the query: ${String((error as Error).message ?? error).split('\n')[0]}`, 'check DATABASE_URL and that PostgreSQL accepts connections');
}

export async function storeCheck(context: DoctorContext): Promise<CheckResult> {
  const name = 'store reachable and migrated';
  const { store } = context;
  switch (store.kind) {
    case 'unavailable':
      return fail(name, store.detail, store.fix);
    case 'direct': {
      const readiness = await store.db.readiness().catch(() => ({ ok: false, checks: [{ name: 'store', ok: false, detail: 'event store unreachable' }] }));
      if (readiness.ok) return pass(name, `${store.db.sql.kind}: reachable, every migration applied`);
      const failing = readiness.checks.filter((c) => !c.ok).map((c) => c.detail ?? c.name).join('; ');
      return fail(name, failing, failing.includes('pending') ? 'start `ledger serve` once: it applies pending migrations at start' : 'check DATABASE_URL and that PostgreSQL accepts connections');
    }
    case 'service': {
      const response = await (context.fetch ?? fetch)(`${store.url}/health/ready`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
      if (response?.ok) return pass(name, `through the service at ${store.url}: ready`);
      return fail(name, `the service at ${store.url} is not ready (${response ? response.status : 'no answer'})`, 'read its log; /health/ready names the failing check (store or migrations)');
    }
    default: {
      const unknown: never = store;
      throw new Error(`unknown store access ${JSON.stringify(unknown)}`);
    }
  }
}

// Why projection status could not be read: mostly the checks cannot be judged (skip), but a key
// the service refuses is the kind of configuration mistake doctor exists to catch (fail).
type Unread = { verdict: 'skip'; detail: string } | { verdict: 'fail'; detail: string; fix: string };
const unjudged = (detail: string): Unread => ({ verdict: 'skip', detail });

async function statusOf(context: DoctorContext): Promise<ProjectionsReport | Unread> {
  const { store } = context;
  if (store.kind === 'unavailable') return unjudged('the store is unreachable');
  if (store.kind === 'direct') {
    if (context.env.PROJECTOR_SOURCE?.trim() !== 'kafka') return projectionStatus(store.db.sql, READ_MODEL_NAMES);
    // Kafka mode: lag is the consumer group's, so the broker settings must be valid too.
    let config;
    try {
      config = loadConfig(context.env);
    } catch {
      return unjudged('the configuration is invalid (see the configuration check)');
    }
    // Only the broker's silence is a skip; the store's own failure (a lock, a timeout) is judged
    // like any other check's, not blamed on Kafka.
    return projectionsStatus(store.db.sql, config).catch((error: unknown) => {
      if ((error as { code?: unknown }).code !== 'LEDGER_KAFKA_UNAVAILABLE') throw error;
      return unjudged('Kafka did not answer (PROJECTOR_SOURCE=kafka reads lag from the consumer group)');
    });
  }
  if (!store.apiKey) return unjudged(`the service at ${store.url} holds the store: set LEDGER_API_KEY (a viewer key) to read projection status through it`);
  const response = await (context.fetch ?? fetch)(`${store.url}/admin/projections`, {
    headers: { authorization: `Bearer ${store.apiKey}` },
    signal: AbortSignal.timeout(5_000),
  }).catch(() => undefined);
  if (response?.status === 401 || response?.status === 403) {
    return {
      verdict: 'fail',
      detail: `GET ${store.url}/admin/projections answered ${response.status}: ${response.status === 401 ? 'the service does not know LEDGER_API_KEY' : 'LEDGER_API_KEY lacks the viewer scope'}`,
      fix: 'set LEDGER_API_KEY to a key the service lists in LEDGER_API_KEYS with the viewer scope (support and admin include it)',
    };
  }
  if (!response?.ok) return unjudged(`GET ${store.url}/admin/projections answered ${response ? response.status : 'nothing'}`);
  return parseWith(ProjectionsStatus, await response.json());
}

export async function projectionChecks(context: DoctorContext, settings: DoctorSettings, storeReady: boolean): Promise<CheckResult[]> {
  const lagName = 'projection lag under threshold';
  const parkedName = 'parked events under threshold';
  let status;
  try {
    status = storeReady ? await statusOf(context) : unjudged('the store is not ready');
  } catch (error) {
    return [unanswered(lagName, settings, error), unanswered(parkedName, settings, error)];
  }
  if ('verdict' in status) {
    const unread = status;
    return [lagName, parkedName].map((name) => (unread.verdict === 'fail' ? fail(name, unread.detail, unread.fix) : skip(name, unread.detail)));
  }
  const maxLag = settings.LEDGER_DOCTOR_MAX_LAG_SECONDS;
  const maxParked = settings.LEDGER_DOCTOR_MAX_PARKED;
  const lagging = status.projections.filter((p) => p.lagSeconds > maxLag);
  const lags = status.projections.map((p) => `${p.name} ${p.lagSeconds.toFixed(1)} s / ${p.lagEvents} events`).join(', ');
  const fence = status.fenceHeldEvents > 0 ? `; ${status.fenceHeldEvents} events wait behind an open transaction` : '';
  const parked = status.projections.reduce((n, p) => n + p.parked, 0);
  const parkedBy = status.projections.filter((p) => p.parked > 0).map((p) => `${p.name} ${p.parked}`).join(', ');
  return [
    lagging.length === 0
      ? pass(lagName, `${lags} (at most ${maxLag} s)${fence}`)
      : fail(
          lagName,
          `${lags} (at most ${maxLag} s)${fence}`,
          'make sure projectors run (LEDGER_PROJECTOR=in-process on the service, or `ledger projections run`); `ledger projections status` shows them catching up',
        ),
    parked <= maxParked
      ? pass(parkedName, `${parked} parked (at most ${maxParked})`)
      : fail(parkedName, `${parked} parked: ${parkedBy} (at most ${maxParked})`, '`ledger parked list` shows why; fix the cause, then `ledger parked retry --all`, or `ledger parked skip <id> --reason …`'),
  ];
}

// DESIGN.md's trap: a transaction left open holds every xmin-fenced reader back. Only PostgreSQL
// can have one (PGlite is one connection).
export async function longTransactionsCheck(context: DoctorContext, settings: DoctorSettings): Promise<CheckResult> {
  const name = 'no long-open transactions';
  const { store } = context;
  if (store.kind !== 'direct' || store.db.sql.kind !== 'postgres') return skip(name, 'PostgreSQL only (read directly with DATABASE_URL)');
  const sql = store.db.sql;
  return answered(name, settings, async () => {
    const { rows } = await sql.query<{ count: number; oldest: number | null }>(
      `select count(*)::int as count, max(extract(epoch from now() - xact_start))::float8 as oldest
         from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid() and xact_start is not null
          and now() - xact_start > make_interval(secs => $1::int)`,
      [settings.LEDGER_DOCTOR_MAX_TRANSACTION_SECONDS],
    );
    const row = rows[0];
    if (!row || row.count === 0) return pass(name, `none open longer than ${settings.LEDGER_DOCTOR_MAX_TRANSACTION_SECONDS} s`);
    return fail(
      name,
      `${row.count} transaction(s) open for up to ${Math.round(row.oldest ?? 0)} s: readers of the event log wait behind them`,
      'find them with `select pid, state, xact_start, query from pg_stat_activity order by xact_start`; end the session (pg_terminate_backend) or fix the client leaving it open',
    );
  });
}

// Money the ledger has not recorded: a delivery still unmatched once the service has stopped
// trying it (LEDGER_UNMATCHED_RETRY_HOURS, services/operations/unmatchedRetry.ts) names a
// customer the ledger never learnt of, so a refund or dispute in it moved nobody.
export async function unmatchedDeliveriesCheck(context: DoctorContext, settings: DoctorSettings): Promise<CheckResult> {
  const name = 'no unmatched deliveries past the retry window';
  const { store } = context;
  if (store.kind !== 'direct') return skip(name, 'read directly from the store (DATABASE_URL, or the embedded store with the service stopped)');
  const sql = store.db.sql;
  const hours = retryWindowHours(context.env);
  return answered(name, settings, async () => {
    const { rows } = await sql.query<{ waiting: number; expired: number; oldest: Date | string | null }>(
      `select count(*) filter (where received_at >= now() - make_interval(hours => $1::int))::int as waiting,
              count(*) filter (where received_at < now() - make_interval(hours => $1::int))::int as expired,
              min(received_at) filter (where received_at < now() - make_interval(hours => $1::int)) as oldest
         from ledger_inbox where ${WAITING} and matched_at is null`,
      [hours],
    );
    const { waiting = 0, expired = 0, oldest = null } = rows[0] ?? {};
    const still = `${waiting} younger still tried by the service`;
    if (expired === 0) return pass(name, `none older than ${hours} h; ${still}`);
    const since = oldest === null ? '' : new Date(oldest).toISOString();
    return fail(
      name,
      `${expired} unmatched for more than ${hours} h (oldest received ${since}); ${still}`,
      `\`ledger unmatched\` lists them with what each waits for; \`ledger redeliver --since ${since}\` once their customer exists (link an identity with \`POST /admin/customers/{ref}/identities\` if it goes by another id)`,
    );
  });
}

function retryWindowHours(env: Record<string, string | undefined>): number {
  const hours = Number(env.LEDGER_UNMATCHED_RETRY_HOURS?.trim() || UNMATCHED_RETRY_HOURS_DEFAULT);
  // An unreadable value is the configuration check's to report; the service's default stands here.
  return Number.isInteger(hours) && hours > 0 ? hours : UNMATCHED_RETRY_HOURS_DEFAULT;
}
