import { LedgerError } from '../../domain/errors.ts';
import type { Readiness } from '../eventstore/database.ts';
import type { RouteModule } from './app.ts';
import { problemFor, sendProblem } from './errorHandler.ts';

// Liveness says the process is up (restart it if not); readiness says it can do its job (store
// reachable, migrations current), so a load balancer sends traffic only then.
export const healthRoutes: RouteModule = (app, { db }) => {
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });

  app.get('/health/live', async () => ({ status: 'live' }));

  app.get('/health/ready', async (request, reply) => {
    let readiness: Readiness;
    try {
      readiness = await db.readiness();
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check threw');
      readiness = { ok: false, checks: [{ name: 'store', ok: false }] };
    }
    // Check names and outcomes only: the details (hosts, driver messages) stay in the log.
    const checks = readiness.checks.map(({ name, ok }) => ({ name, ok }));
    if (readiness.ok) return { status: 'ready', checks };
    request.log.warn({ checks: readiness.checks }, 'not ready');
    const notReady = new LedgerError('LEDGER_STORE_UNAVAILABLE', `Not ready: ${failing(checks)}`, { checks });
    return sendProblem(reply, problemFor(notReady, request));
  });
};

const failing = (checks: { name: string; ok: boolean }[]): string =>
  checks
    .filter((c) => !c.ok)
    .map((c) => c.name)
    .join(', ') || 'unknown';
