import type { SchemaName } from '../../contracts/api/openapiSchemas.ts';
import type { WebhookReceipt } from '../../contracts/api/webhookReceipt.ts';
import type { RouteDoc, SecuritySchemeName } from '../http/routeDocs.ts';
import type { DeliveryResult } from './ingestDelivery.ts';

// The documented receipt must stay what ingestDelivery answers: this fails to compile otherwise.
const receiptMatches: (result: DeliveryResult) => WebhookReceipt = (result) => result;
void receiptMatches;

const webhook = (
  source: string,
  url: string,
  body: SchemaName,
  scheme: SecuritySchemeName,
  description: string,
  // Where one event id names one event (Stripe, Zendesk): the id reused for another is refused.
  eventIds: 'unique' | 'per item',
): RouteDoc => ({
  method: 'POST',
  url,
  operationId: `receive${source}Webhook`,
  summary: `Receive a ${source} webhook delivery`,
  description: `${description} Answers 200 only once every fact is durably appended; a re-delivery answers 200 and appends nothing${eventIds === 'unique' ? ', an event id already recorded for an event of another type 422' : ''}. Unknown event types are acknowledged (200) and kept in the inbox. 5xx means retry.`,
  tag: 'webhooks',
  security: [{ scheme }],
  requestBody: { schema: body, description: 'The provider’s raw body: the signature covers these exact bytes' },
  responses: { 200: { description: 'Accepted (or already accepted): what each fact became', schema: 'WebhookReceipt' } },
  problems: [
    'LEDGER_SIGNATURE_MISSING',
    'LEDGER_SIGNATURE_INVALID',
    'LEDGER_SIGNATURE_STALE',
    'LEDGER_MALFORMED_JSON',
    'LEDGER_VALIDATION',
    ...(eventIds === 'unique' ? (['LEDGER_EVENT_ID_REUSED'] as const) : []),
    'LEDGER_UNSUPPORTED_MEDIA_TYPE',
    'LEDGER_BODY_TOO_LARGE',
    'LEDGER_RATE_LIMITED',
    'LEDGER_OVERLOADED',
    'LEDGER_STORE_UNAVAILABLE',
  ],
});

export const webhookRouteDocs: RouteDoc[] = [
  webhook('Stripe', '/webhooks/stripe', 'StripeEvent', 'stripeSignature', 'Stripe events, pre-2025 and basil shapes; Stripe-Signature checked with a 300 s tolerance against every configured secret.', 'unique'),
  webhook('Crm', '/webhooks/crm', 'HubspotWebhookBatch', 'hubspotSignature', 'HubSpot batches; X-HubSpot-Signature-v3 over method, URI, body and X-HubSpot-Request-Timestamp (5 minutes).', 'per item'),
  webhook('Support', '/webhooks/support', 'ZendeskWebhookEvent', 'zendeskSignature', 'Zendesk events; X-Zendesk-Webhook-Signature over X-Zendesk-Webhook-Signature-Timestamp and the body.', 'unique'),
];
