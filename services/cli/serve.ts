import { describeConfig, loadConfig, webhookSecretsSet, type LedgerConfig } from '../config.ts';
import { openDatabase } from '../eventstore/openDatabase.ts';
import { buildApp } from '../http/app.ts';
import { scheduleInboxPruning } from '../ingest/inbox.ts';
import { WEBHOOK_PATHS, WEBHOOK_SECRET_VARIABLES } from '../operations/providerSigning.ts';
import { todaysSources } from '../operations/redeliver.ts';
import { scheduleUnmatchedRetry } from '../operations/unmatchedRetry.ts';
import { notifyOtherProcesses } from '../projector/appendSignals.ts';
import { createProjector } from '../projector/readModelRunners.ts';
import { currentTelemetry } from '../telemetry/activeTelemetry.ts';
import { CliError } from './cliError.ts';

// Below Docker's and Kubernetes' default 10 s grace period, so a stuck drain still ends with our
// own log line and db close attempt rather than a SIGKILL.
const DRAIN_TIMEOUT_MS = 8_000;

function unsetWebhookSecrets(config: LedgerConfig): { variable: string; path: string }[] {
  const set = webhookSecretsSet(config);
  return (Object.keys(set) as (keyof typeof set)[])
    .filter((source) => !set[source])
    .map((source) => ({ variable: WEBHOOK_SECRET_VARIABLES[source], path: WEBHOOK_PATHS[source] }));
}

// `ledger serve`: resolves with the exit code once the service has stopped.
export async function run(_args: string[]): Promise<number> {
  const config = loadConfig();
  const db = await openDatabase(config.store);
  const projector = createProjector(db, config, { warn: (object, message) => app.log.warn(object, message) });
  const app = buildApp({ db, config, projector });
  const stopSignal = nextStopSignal();
  try {
    await app.listen({ host: config.http.host, port: config.http.port });
  } catch (error) {
    await db.close().catch(() => {});
    throw listenError(error, `${config.http.host}:${config.http.port}`);
  }
  app.log.info({ config: describeConfig(config) }, 'ledger serving');
  // Production refuses to start without them; in development a missing one is easy to miss, and
  // every delivery from that source is then a 400 that reads like a forged signature.
  for (const { variable, path } of unsetWebhookSecrets(config)) {
    app.log.warn({ variable, path }, `${variable} is not set: every delivery to ${path} is refused (400 LEDGER_SIGNATURE_INVALID) until it is`);
  }
  // Appends here wake projector processes elsewhere (LEDGER_PROJECTOR=off here, `ledger projections run` there).
  const stopNotifying = notifyOtherProcesses(db);
  // In Kafka mode the read models are fed by `ledger projections run` consumers, not by polling here.
  if (config.projector.mode === 'in-process' && config.projectorSource === 'store') await projector.start();
  const stopPruning = scheduleInboxPruning(db.sql, config.inbox.retentionDays, (error) =>
    app.log.warn({ err: error }, 'inbox pruning failed; retrying in an hour'),
  );
  const stopRetrying = await scheduleUnmatchedRetry({ store: db.store, sql: db.sql, now: () => new Date() }, todaysSources(config), config.inbox.unmatchedRetry, {
    done: (pass) => {
      if (pass.matched > 0 || pass.failed > 0) app.log.info(pass, 'unmatched deliveries tried again');
    },
    failed: (error) => app.log.warn({ err: error }, 'trying unmatched deliveries again failed; retrying at the next interval'),
  });

  const signal = await stopSignal;
  app.log.info({ signal }, 'stopping: no new connections, draining in-flight requests');
  stopPruning();
  const drained = await withTimeout(app.close(), DRAIN_TIMEOUT_MS);
  stopNotifying();
  // Before the store closes: a pass in flight finishes its delivery.
  await stopRetrying();
  // After the HTTP drain: a batch in flight commits or rolls back whole, never half.
  await projector.stop();
  if (!drained) app.log.error({ timeoutMs: DRAIN_TIMEOUT_MS }, 'in-flight requests did not finish in time');
  // The store closes last: a request still in flight may be appending.
  await db.close().catch((error: unknown) => app.log.error({ err: error }, 'closing the database failed'));
  // Flushes spans still batched for the exporter.
  await currentTelemetry()?.stop();
  app.log.info('stopped');
  // Connections that outlived the drain would keep the process alive: end it anyway.
  if (!drained) setTimeout(() => process.exit(1), 1_000).unref();
  return drained ? 0 : 1;
}

// The usual first-run surprises (a dev server already on port 3000) in one line, not a stack.
function listenError(error: unknown, address: string): unknown {
  const { code } = error as NodeJS.ErrnoException;
  if (code === 'EADDRINUSE') return new CliError(`${address} is already in use (another ledger serve, or another program): stop it, or set PORT`);
  if (code === 'EACCES') return new CliError(`not allowed to listen on ${address} (ports below 1024 need privileges): set PORT`);
  if (code === 'EADDRNOTAVAIL') return new CliError(`${address}: no such address on this machine: set HOST`);
  return error;
}

// The first SIGTERM/SIGINT starts a graceful stop; a second one means "now".
function nextStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) process.exit(130);
      stopping = true;
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

async function withTimeout(work: PromiseLike<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([Promise.resolve(work).then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
