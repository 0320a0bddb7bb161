import { parameterSchemas } from '../../../contracts/api/openapiSchemas.ts';
import type { ErrorCode } from '../../../domain/errors.ts';
import type { ResponseDoc, RouteDoc } from '../../http/routeDocs.ts';

const idempotencyKey = {
  name: 'Idempotency-Key',
  in: 'header',
  required: true,
  description:
    'One per logical request (a fresh UUID). The same key with the same body replays the first response (with Idempotent-Replayed: true); with a different body it is refused (422). Kept per API key for 24 hours.',
  schema: parameterSchemas.idempotencyKey,
} as const;

const problems: ErrorCode[] = [
  'LEDGER_UNAUTHENTICATED',
  'LEDGER_FORBIDDEN',
  'LEDGER_IDEMPOTENCY_KEY_MISSING',
  'LEDGER_VALIDATION',
  'LEDGER_MALFORMED_JSON',
  'LEDGER_UNSUPPORTED_MEDIA_TYPE',
  'LEDGER_BODY_TOO_LARGE',
  'LEDGER_IDEMPOTENCY_KEY_REUSED',
  'LEDGER_IDEMPOTENCY_KEY_IN_FLIGHT',
  'LEDGER_CONCURRENCY',
  'LEDGER_RATE_LIMITED',
  'LEDGER_OVERLOADED',
  'LEDGER_STORE_UNAVAILABLE',
];

const accepted = (status: number, description: string): Record<number, ResponseDoc> => ({
  [status]: {
    description,
    schema: 'CommandAccepted',
    headers: {
      'Idempotent-Replayed': { description: '`true` when this is the stored response of an earlier request with the same key', schema: { type: 'string', enum: ['true'] } },
    },
  },
});

export const appRouteDocs: RouteDoc[] = [
  {
    method: 'POST',
    url: '/v1/leads',
    operationId: 'captureLead',
    summary: 'Capture a lead from the app',
    description:
      'Records LeadCaptured for the person named by appUserId and/or email, creating the customer when neither is known. A double tap with one Idempotency-Key never makes two leads.',
    tag: 'app',
    security: [{ scheme: 'apiKey', scopes: ['app'] }],
    parameters: [idempotencyKey],
    requestBody: { schema: 'LeadRequest' },
    responses: accepted(201, 'Recorded (durably); the same body on a replay'),
    problems,
  },
  {
    method: 'POST',
    url: '/v1/app-events',
    operationId: 'recordAppEvent',
    summary: 'Record an event from the app backend',
    description: 'profile_updated records CustomerProfileUpdated; account_deleted records CustomerDeleted (404 when the app user is unknown).',
    tag: 'app',
    security: [{ scheme: 'apiKey', scopes: ['app'] }],
    parameters: [idempotencyKey],
    requestBody: { schema: 'AppEventRequest' },
    responses: accepted(200, 'Recorded (durably); the same body on a replay'),
    problems: [...problems, 'LEDGER_NOT_FOUND'],
  },
];
