import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { LedgerConfig } from '../config.ts';
import type { LedgerDatabase } from '../eventstore/database.ts';
import type { Projector } from '../projector/projector.ts';
import { errorHandler, notFoundHandler } from './errorHandler.ts';
import { customerRoutes } from './customerRoutes.ts';
import { healthRoutes } from './healthRoutes.ts';
import { readModelRoutes } from './readModelRoutes.ts';
import { openapiRoutes } from './openapi.ts';
import { appRoutes } from '../ingest/app/appRoutes.ts';
import { crmWebhookRoutes, stripeWebhookRoutes, supportWebhookRoutes } from '../ingest/ingestRoutes.ts';

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
];

export interface BuildAppOptions extends AppDeps {
  // A pino-compatible logger; default: fastify's pino at config.logLevel.
  logger?: FastifyBaseLogger;
}

// A caller-supplied correlation id is honoured only when it is short and plain, so it cannot
// forge log lines or blow up log storage.
const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function correlationIdOf(request: IncomingMessage): string {
  const inbound = request.headers['x-correlation-id'];
  return typeof inbound === 'string' && CORRELATION_ID.test(inbound) ? inbound : randomUUID();
}

// Builds the app without listening: tests drive it with app.inject(), `ledger serve` listens.
export function buildApp({ db, config, logger, now, projector }: BuildAppOptions): FastifyInstance {
  const app: FastifyInstance = Fastify({
    ...(logger ? { loggerInstance: logger } : { logger: { level: config.logLevel } }),
    bodyLimit: config.http.bodyLimitBytes,
    requestIdHeader: false,
    genReqId: correlationIdOf,
    logController: new LogController({ requestIdLogLabel: 'correlationId' }),
    // URL-level failures (bad percent-encoding, overlong params) happen before routing.
    frameworkErrors: errorHandler,
  });

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
