import { parseHubspotBatch, type HubspotDelivery } from '../../../contracts/inbound/hubspot.ts';
import { parseJson } from '../../../contracts/parseBody.ts';
import type { WebhookSource } from '../webhookSource.ts';
import { verifyHubspotSignature } from './hubspotSignature.ts';
import { translateHubspotBatch } from './hubspotTranslation.ts';

// POST /webhooks/crm: HubSpot contact webhooks (signature v3, batched bodies).
export function createHubspotSource(clientSecret: string | undefined): WebhookSource<HubspotDelivery> {
  return {
    name: 'crm',
    path: '/webhooks/crm',
    verify: (input) => verifyHubspotSignature(clientSecret, input),
    parse: (rawBody) => parseHubspotBatch(parseJson(rawBody)),
    translate: translateHubspotBatch,
  };
}
