import type { JsonSchema } from '../../contracts/api/openapiSchemas.ts';
import type { RouteDoc } from '../http/routeDocs.ts';

// The trail's shape (services/telemetry/correlationTrail.ts), written out for the document:
// it is produced by the service, never parsed from a client, so it has no zod contract.
const at = { type: 'string', format: 'date-time' };
const trailEntry: JsonSchema = {
  type: 'object',
  required: ['kind', 'at'],
  properties: {
    kind: { enum: ['delivery', 'fact', 'decision', 'projection', 'parked'] },
    at,
    inboxId: { type: 'string' },
    source: { type: 'string' },
    outcome: { type: 'string' },
    sourceEventIds: { type: 'array', items: { type: 'string' } },
    matchedAt: { type: ['string', 'null'], format: 'date-time', description: 'An unmatched delivery processed later, once its customer was known' },
    waitingFor: {
      type: 'array',
      items: { type: 'string' },
      description: 'An unmatched delivery not yet matched: the claims (`stripe_charge:ch_…`) whose arrival wakes it; e-mail addresses left out',
    },
    position: { type: 'string', description: 'Global log position (decimal string)' },
    eventId: { type: 'string' },
    customerId: { type: 'string' },
    version: { type: 'integer' },
    type: { type: 'string' },
    sourceEventId: { type: ['string', 'null'] },
    detail: { type: ['string', 'null'], description: 'A decision in a few words, e.g. `trial -> active`' },
    traceId: { type: ['string', 'null'] },
    readModel: { type: 'string' },
    reason: { type: 'string' },
    status: { type: 'string' },
    error: { type: ['string', 'null'] },
  },
};

const trail: JsonSchema = {
  type: 'object',
  required: ['correlationId', 'traceIds', 'entries', 'consumers'],
  properties: {
    correlationId: { type: 'string' },
    traceIds: { type: 'array', items: { type: 'string' }, description: 'W3C trace ids to open in a tracing backend' },
    entries: { type: 'array', items: trailEntry, description: 'In time order' },
    consumers: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'kind', 'position', 'caughtUp', 'parked'],
        properties: {
          name: { type: 'string' },
          kind: { enum: ['read_model', 'relay'] },
          position: { type: 'string' },
          caughtUp: { type: 'boolean' },
          parked: { type: 'integer', description: "The chain's events this read model parked (passed, not applied)" },
        },
      },
    },
  },
};

export const traceRouteDocs: RouteDoc[] = [
  {
    method: 'GET',
    url: '/admin/trace/:correlationId',
    operationId: 'traceCorrelation',
    summary: 'Everything that carries one correlation id, in order, with timings and trace ids',
    description:
      'The inbox delivery, the facts and decisions appended, each read model’s change-feed entry and any parked event for them, and whether each read model and the Kafka relay has passed the last event. `ledger trace <id>` calls this when the service holds the embedded store. Needs the `viewer` scope.',
    tag: 'admin',
    security: [{ scheme: 'apiKey', scopes: ['viewer'] }],
    parameters: [{ name: 'correlationId', in: 'path', required: true, description: 'The X-Correlation-Id of a delivery or request', schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' } }],
    responses: { 200: { description: 'The trail', schema: trail } },
    problems: ['LEDGER_UNAUTHENTICATED', 'LEDGER_FORBIDDEN', 'LEDGER_VALIDATION', 'LEDGER_NOT_FOUND', 'LEDGER_STORE_UNAVAILABLE'],
  },
];
