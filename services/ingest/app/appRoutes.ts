import { AppEventRequest, LeadRequest } from '../../../contracts/inbound/app.ts';
import { parseWith } from '../../../contracts/parseBody.ts';
import { requireScope } from '../../http/apiKeyAuth.ts';
import type { RouteModule } from '../../http/app.ts';
import { limitInFlight } from '../../http/inFlightLimit.ts';
import { rateLimit } from '../../http/rateLimit.ts';
import { runAppCommand } from './appCommand.ts';
import { translateAppEvent, translateLead } from './appTranslator.ts';
import { pruneIdempotencyKeys } from './idempotencyKeys.ts';

const PRUNE_EVERY_MS = 60 * 60 * 1000;

// The app backend's door: API keys with the `app` scope, an Idempotency-Key on every write,
// JSON only (the app-wide body limit applies), the app's own rate limit, and load shedding
// like every other source (a burst of app writes must not queue up behind the store).
export const appRoutes: RouteModule = (scope, deps) => {
  // Fastify also parses text/plain by default; a plain-text body here is a client bug (415).
  scope.removeContentTypeParser('text/plain');
  // The key first: requests without one answered 429 and spent the bucket and the in-flight
  // slots, so anyone who could reach the port could lock the app's writes out.
  scope.addHook('onRequest', requireScope(deps.config, 'app'));
  rateLimit(scope, deps.config.rateLimitsPerSecond.app);
  limitInFlight(scope, deps.config.webhookMaxInFlight);

  scope.post('/v1/leads', (request, reply) =>
    runAppCommand(deps, request, reply, {
      route: 'POST /v1/leads',
      parse: (body) => parseWith(LeadRequest, body),
      translate: translateLead,
      successStatus: 201,
    }),
  );

  scope.post('/v1/app-events', (request, reply) =>
    runAppCommand(deps, request, reply, {
      route: 'POST /v1/app-events',
      parse: (body) => parseWith(AppEventRequest, body),
      translate: translateAppEvent,
      successStatus: 200,
    }),
  );

  // Expired Idempotency-Key records go hourly; the timer never keeps the process alive.
  let pruning: NodeJS.Timeout | undefined;
  scope.addHook('onReady', async () => {
    pruning = setInterval(() => {
      pruneIdempotencyKeys(deps.db.sql).catch((error: unknown) => scope.log.warn({ err: error }, 'idempotency key pruning failed; retrying in an hour'));
    }, PRUNE_EVERY_MS);
    pruning.unref();
  });
  scope.addHook('onClose', async () => clearInterval(pruning));
};
