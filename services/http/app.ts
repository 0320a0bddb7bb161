import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { LedgerConfig } from '../config.ts';
import type { LedgerDatabase } from '../eventstore/database.ts';
import type { Projector } from '../projector/projector.ts';
import { clientErrorHandler, errorHandler, notFoundHandler } from './errorHandler.ts';
import { customerRoutes } from './customerRoutes.ts';
import { healthRoutes } from './healthRoutes.ts';
import { readModelRoutes } from './readModelRoutes.ts';
import { openapiRoutes } from './openapi.ts';
import { redeliverRoutes } from '../admin/redeliverRoutes.ts';
import { adminRoutes } from '../admin/adminRoutes.ts';
import { appRoutes } from '../ingest/app/appRoutes.ts';
import { crmWebhookRoutes, stripeWebhookRoutes, supportWebhookRoutes } from '../ingest/ingestRoutes.ts';
import { traceRoutes } from '../admin/traceRoutes.ts';
import { unmatchedRoutes } from '../admin/unmatchedRoutes.ts';
import { isCorrelationId } from '../telemetry/correlationId.ts';
import { traceRequests } from '../telemetry/httpSpans.ts';
import { createLogger } from '../telemetry/logger.ts';
import { metricsRoutes } from '../telemetry/metricsRoutes.ts';

// What every route module receives: built once at start, never looked up per request.
export interface AppDeps {
  db: LedgerDatabase;
  config: LedgerConfig;
  // The clock every decision and signature check reads; tests pin it.
  now?: () => Date;
  // Read-model commits, for long-polls; absent when this process runs no projector.
  projector?: Projector;
}

// A route module is a function over an encapsulated fastify scope, so a module may add its own
// content-type parsers (raw bytes for signed webhooks) and hooks without touching the others.
export type RouteModule = (app: FastifyInstance, deps: AppDeps) => void | Promise<void>;

// Add a source or a feature here; order does not matter.
const routeModules: RouteModule[] = [
  healthRoutes,
  stripeWebhookRoutes,
  crmWebhookRoutes,
  supportWebhookRoutes,
  appRoutes,
  customerRoutes,
  readModelRoutes,
  openapiRoutes,
  redeliverRoutes,
  adminRoutes,
  metricsRoutes,
  traceRoutes,
  unmatchedRoutes,
];

export interface BuildAppOptions extends AppDeps {
  // A pino-compatible logger; default: services/telemetry/logger.ts (redacting) at config.logLevel.
  logger?: FastifyBaseLogger;
}

function correlationIdOf(request: IncomingMessage): string {
  const inbound = request.headers['x-correlation-id'];
  return isCorrelationId(inbound) ? inbound : randomUUID();
}

// Builds the app without listening: tests drive it with app.inject(), `ledger serve` listens.
export function buildApp({ db, config, logger, now, projector }: BuildAppOptions): FastifyInstance {
  const app: FastifyInstance = Fastify({
    loggerInstance: logger ?? createLogger({ level: config.logLevel }),
    bodyLimit: config.http.bodyLimitBytes,
    // Fastify's default (0) turns Node's own limit on receiving a request off; without one, a
    // delivery whose body stops arriving holds its in-flight slot (inFlightLimit.ts) until its
    // socket dies, and enough of them refuse every delivery with 503. Node checks every quarter
    // of the timeout here (its default: every 30 s), so a stalled request is cut within 1.25 × it.
    requestTimeout: config.http.requestTimeoutMs,
    http: {
      headersTimeout: Math.min(60_000, config.http.requestTimeoutMs),
      connectionsCheckingInterval: Math.ceil(Math.min(30_000, config.http.requestTimeoutMs / 4)),
    },
    requestIdHeader: false,
    genReqId: correlationIdOf,
    logController: new LogController({ requestIdLogLabel: 'correlationId' }),
    // URL-level failures (bad percent-encoding, overlong params) happen before routing.
    frameworkErrors: errorHandler,
    clientErrorHandler,
  });

  traceRequests(app);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-correlation-id', request.id);
  });
  // While closing, answer in-flight requests with `Connection: close`: otherwise their keep-alive
  // sockets hold close() open until the keep-alive timeout (72 s) instead of ending with the reply.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  const deps: AppDeps = { db, config, now: now ?? (() => new Date()), ...(projector ? { projector } : {}) };
  for (const routes of routeModules) {
    app.register(async (scope) => routes(scope, deps));
  }
  return app;
}
