import type { JsonSchema } from '../../contracts/api/openapiSchemas.ts';
import type { RouteDoc } from '../http/routeDocs.ts';

// The report's shape (services/operations/unmatchedDeliveries.ts), written out for the document:
// produced by the service, never parsed from a client, so it has no zod contract.
const report: JsonSchema = {
  type: 'object',
  required: ['retry', 'deliveries', 'truncated'],
  properties: {
    retry: {
      type: 'object',
      required: ['intervalSeconds', 'windowHours'],
      properties: { intervalSeconds: { type: 'number' }, windowHours: { type: 'number' } },
      description: 'LEDGER_UNMATCHED_RETRY_SECONDS and LEDGER_UNMATCHED_RETRY_HOURS as the service runs them',
    },
    deliveries: {
      type: 'array',
      description: 'Oldest first, at most 1,000',
      items: {
        type: 'object',
        required: ['inboxId', 'source', 'receivedAt', 'correlationId', 'sourceEventIds', 'outcome', 'waitingFor', 'nextTryAt'],
        properties: {
          inboxId: { type: 'string' },
          source: { type: 'string' },
          receivedAt: { type: 'string', format: 'date-time' },
          correlationId: { type: 'string' },
          sourceEventIds: { type: 'array', items: { type: 'string' } },
          outcome: { type: 'string', description: 'On arrival: unmatched, or appended for a batch whose other items were' },
          waitingFor: {
            type: 'array',
            items: { type: 'string' },
            description: 'The claims (`stripe_charge:ch_…`) whose arrival wakes it; e-mail addresses left out',
          },
          nextTryAt: {
            type: ['string', 'null'],
            format: 'date-time',
            description: 'The service’s next try on its backoff; null past the retry window (then `ledger redeliver`)',
          },
        },
      },
    },
    truncated: { type: 'boolean' },
  },
};

export const unmatchedRouteDocs: RouteDoc[] = [
  {
    method: 'GET',
    url: '/admin/unmatched',
    operationId: 'listUnmatchedDeliveries',
    summary: 'Deliveries still waiting for a customer, with what each waits for',
    description:
      'Every inbox delivery with a fact that found no customer and has not matched since: a refund before the invoice that claims its charge, a CRM deletion before the creation. `ledger unmatched` calls this when the service holds the embedded store. Needs the `viewer` scope.',
    tag: 'admin',
    security: [{ scheme: 'apiKey', scopes: ['viewer'] }],
    responses: { 200: { description: 'The waiting deliveries', schema: report } },
    problems: ['LEDGER_UNAUTHENTICATED', 'LEDGER_FORBIDDEN', 'LEDGER_STORE_UNAVAILABLE'],
  },
];
