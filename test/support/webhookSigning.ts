import { createHmac } from 'node:crypto';
import { TEST_ENV } from './testApp.ts';

// Headers exactly as HubSpot (v3) and Zendesk sign their webhooks, for the test app's secrets.

export const HUBSPOT_HOST = 'ledger.test';
export const HUBSPOT_PATH = '/webhooks/crm';

export interface HubspotSigning {
  timestamp?: number;
  secret?: string;
  // Sign these bytes instead of the body sent (a body changed after signing).
  signedBody?: string | Buffer;
}

// X-HubSpot-Signature-v3: base64 HMAC-SHA256 of method + URI + body + timestamp (ms).
export function hubspotHeaders(body: string | Buffer, at: Date, signing: HubspotSigning = {}): Record<string, string> {
  const timestamp = String(signing.timestamp ?? at.getTime());
  const signed = Buffer.from(signing.signedBody ?? body).toString('utf8');
  const signature = createHmac('sha256', signing.secret ?? TEST_ENV.HUBSPOT_CLIENT_SECRET)
    .update(`POST` + `https://${HUBSPOT_HOST}${HUBSPOT_PATH}` + signed + timestamp)
    .digest('base64');
  return { host: HUBSPOT_HOST, 'content-type': 'application/json', 'x-hubspot-signature-v3': signature, 'x-hubspot-request-timestamp': timestamp };
}

// X-Zendesk-Webhook-Signature: base64 HMAC-SHA256 of timestamp + body.
export function zendeskHeaders(body: string | Buffer, at: Date, signing: { timestamp?: string; secret?: string } = {}): Record<string, string> {
  const timestamp = signing.timestamp ?? at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const signature = createHmac('sha256', signing.secret ?? TEST_ENV.ZENDESK_WEBHOOK_SECRET)
    .update(timestamp + Buffer.from(body).toString('utf8'))
    .digest('base64');
  return {
    'content-type': 'application/json',
    'user-agent': 'Zendesk Webhook',
    'x-zendesk-webhook-id': '01GK8E6BKWMJZD2T8Y5AXJQMG5',
    'x-zendesk-webhook-signature': signature,
    'x-zendesk-webhook-signature-timestamp': timestamp,
  };
}

// A webhook's 200 body.
export interface DeliveryBody {
  facts: { sourceEventId: string; outcome: string; customerId?: string }[];
  ignored: { sourceEventId: string; reason: string }[];
  inboxId: string;
}
