import { assertFresh, assertSignatureMatches, hmacBase64, requiredHeader, requireSecret } from '../hmacSignature.ts';
import type { VerifyInput } from '../webhookSource.ts';

// Zendesk webhook signing: X-Zendesk-Webhook-Signature =
// base64(HMAC-SHA256(signingSecret, timestamp + body)), timestamp being the ISO 8601
// X-Zendesk-Webhook-Signature-Timestamp. Zendesk names no replay window; we apply the same
// 5 minutes as HubSpot and Stripe, so a captured delivery cannot be replayed later.

export const ZENDESK_SIGNATURE_HEADER = 'x-zendesk-webhook-signature';
export const ZENDESK_TIMESTAMP_HEADER = 'x-zendesk-webhook-signature-timestamp';

// Zendesk sends whole-second UTC (`2024-04-17T17:18:10Z`); anything Date can read as ISO 8601
// with a zone is accepted, anything else is not a timestamp.
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;

export function zendeskSignature(secret: string, timestamp: string, rawBody: Buffer): string {
  return hmacBase64(secret, [timestamp, rawBody]);
}

export function verifyZendeskSignature(signingSecret: string | undefined, input: VerifyInput): void {
  const secret = requireSecret(signingSecret);
  const signature = requiredHeader(input.headers, ZENDESK_SIGNATURE_HEADER);
  const timestamp = requiredHeader(input.headers, ZENDESK_TIMESTAMP_HEADER);
  assertFresh(ISO_WITH_ZONE.test(timestamp) ? Date.parse(timestamp) : Number.NaN, input.now, ZENDESK_TIMESTAMP_HEADER);
  assertSignatureMatches(zendeskSignature(secret, timestamp, input.rawBody), signature);
}
