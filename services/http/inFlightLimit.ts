import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LedgerError } from '../../domain/errors.ts';

// Load shedding per route scope (per source): at most `max` deliveries are being processed at
// once; the next is refused before its body is read, with 503 LEDGER_OVERLOADED and Retry-After.
// Past capacity a queue only grows, and every delivery in it waits longer than the provider's
// timeout (which then retries it anyway): refusing early keeps the accepted ones fast and the
// process's memory flat. Providers retry 5xx (Stripe for days), so nothing is lost.
export function limitInFlight(scope: FastifyInstance, max: number): void {
  if (max <= 0) return;
  let inFlight = 0;
  const counted = new WeakSet<FastifyRequest>();
  scope.addHook('onRequest', async (request, reply) => {
    if (inFlight >= max) {
      reply.header('retry-after', '1');
      throw new LedgerError('LEDGER_OVERLOADED');
    }
    inFlight += 1;
    counted.add(request);
  });
  // Whichever comes first; a client that hangs up must not hold a slot forever.
  const release = async (request: FastifyRequest) => {
    if (counted.delete(request)) inFlight -= 1;
  };
  scope.addHook('onResponse', release);
  scope.addHook('onRequestAbort', release);
}
