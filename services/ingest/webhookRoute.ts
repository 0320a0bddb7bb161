import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../http/app.ts';
import { limitInFlight } from '../http/inFlightLimit.ts';
import { rateLimit } from '../http/rateLimit.ts';
import { countDeliveries } from '../telemetry/ingestTelemetry.ts';
import { ingestDelivery } from './ingestDelivery.ts';
import type { WebhookSource } from './webhookSource.ts';

// Registers one provider's webhook in its own scope: a raw-bytes JSON parser (signatures are
// over the exact bytes), the body limit, and the provider's rate limit.
export function registerWebhook<P>(scope: FastifyInstance, deps: AppDeps, source: WebhookSource<P>): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: deps.config.http.bodyLimitBytes },
    (_request, body, done) => done(null, body),
  );
  countDeliveries(scope, source.name);
  rateLimit(scope, deps.config.rateLimitsPerSecond[source.name]);
  limitInFlight(scope, deps.config.webhookMaxInFlight);
  const now = deps.now ?? (() => new Date());
  scope.post(source.path, async (request, reply) => {
    const result = await ingestDelivery({ store: deps.db.store, sql: deps.db.sql, now }, source, request);
    return reply.code(200).send(result);
  });
}
