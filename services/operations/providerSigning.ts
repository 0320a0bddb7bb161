import { createHmac } from 'node:crypto';
import type { CapturedSource } from '../../contracts/inbound/capturedDelivery.ts';
import { HUBSPOT_SIGNATURE_HEADER, HUBSPOT_TIMESTAMP_HEADER, hubspotV3Signature } from '../ingest/crm/hubspotSignature.ts';
import { ZENDESK_SIGNATURE_HEADER, ZENDESK_TIMESTAMP_HEADER, zendeskSignature } from '../ingest/support/zendeskSignature.ts';

// Signs a body exactly as its provider does, so a captured delivery can be sent to another
// environment as if the provider had sent it now. The verifiers in services/ingest are the
// other half of each scheme.
export function signatureHeaders(source: CapturedSource, secret: string, body: Buffer, target: URL, now: Date): Record<string, string> {
  switch (source) {
    case 'stripe': {
      // Stripe: t=<unix seconds>,v1=hex(HMAC-SHA256(secret, "<t>.<body>")).
      const t = Math.floor(now.getTime() / 1000);
      const v1 = createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');
      return { 'stripe-signature': `t=${t},v1=${v1}` };
    }
    case 'crm': {
      // HubSpot v3 signs the URL it calls. The ledger rebuilds that URL from X-Forwarded-Proto
      // (https when absent, as behind its TLS proxy) and Host, so name the scheme we really use.
      const timestamp = String(now.getTime());
      const uri = `${target.protocol}//${target.host}${target.pathname}${target.search}`;
      return {
        [HUBSPOT_SIGNATURE_HEADER]: hubspotV3Signature(secret, 'POST', uri, body, timestamp),
        [HUBSPOT_TIMESTAMP_HEADER]: timestamp,
        'x-forwarded-proto': target.protocol.replace(/:$/, ''),
      };
    }
    case 'support': {
      // Zendesk: base64(HMAC-SHA256(secret, timestamp + body)), whole-second ISO 8601 UTC.
      const timestamp = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
      return { [ZENDESK_SIGNATURE_HEADER]: zendeskSignature(secret, timestamp, body), [ZENDESK_TIMESTAMP_HEADER]: timestamp };
    }
    default: {
      const unknown: never = source;
      throw new Error(`no signing scheme for ${String(unknown)}`);
    }
  }
}

export const WEBHOOK_PATHS: Record<CapturedSource, string> = { stripe: '/webhooks/stripe', crm: '/webhooks/crm', support: '/webhooks/support' };

// The variable that holds each source's signing secret.
export const WEBHOOK_SECRET_VARIABLES: Record<CapturedSource, string> = { stripe: 'STRIPE_WEBHOOK_SECRET', crm: 'HUBSPOT_CLIENT_SECRET', support: 'ZENDESK_WEBHOOK_SECRET' };
