import type { FastifyInstance } from 'fastify';
import { LedgerError } from '../../domain/errors.ts';

// A token bucket per route scope (per source): a burst of `perSecond` requests, refilled
// continuously. In-process: each replica limits its own share.
export function rateLimit(scope: FastifyInstance, perSecond: number, now: () => number = () => performance.now()): void {
  if (perSecond <= 0) return;
  let tokens = perSecond;
  let last = now();
  scope.addHook('onRequest', async (_request, reply) => {
    const t = now();
    tokens = Math.min(perSecond, tokens + ((t - last) / 1000) * perSecond);
    last = t;
    if (tokens < 1) {
      reply.header('retry-after', '1');
      throw new LedgerError('LEDGER_RATE_LIMITED');
    }
    tokens -= 1;
  });
}
