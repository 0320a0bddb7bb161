import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { LedgerError } from '../../../domain/errors.ts';
import { assertFresh, assertSignatureMatches, hmacBase64, requiredHeader, requireSecret } from '../hmacSignature.ts';
import type { VerifyInput } from '../webhookSource.ts';

// HubSpot request validation, v3: X-HubSpot-Signature-v3 =
// base64(HMAC-SHA256(clientSecret, method + uri + body + timestamp)), where uri is the full URL
// HubSpot called and timestamp is X-HubSpot-Request-Timestamp (ms), at most 5 minutes old.

export const HUBSPOT_SIGNATURE_HEADER = 'x-hubspot-signature-v3';
export const HUBSPOT_TIMESTAMP_HEADER = 'x-hubspot-request-timestamp';

// HubSpot percent-decodes these before signing (its v3 validation guide lists them); any other
// escape stays as sent.
const DECODED_IN_URI: Record<string, string> = {
  '%3A': ':',
  '%2F': '/',
  '%3F': '?',
  '%40': '@',
  '%21': '!',
  '%24': '$',
  '%27': "'",
  '%28': '(',
  '%29': ')',
  '%2A': '*',
  '%2C': ',',
  '%3B': ';',
};
const ESCAPES = /%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi;

function firstForwarded(value: string | string[] | undefined): string | undefined {
  const first = (Array.isArray(value) ? value[0] : value)?.split(',')[0]?.trim();
  return first === undefined || first.length === 0 ? undefined : first;
}

// The URL HubSpot called, rebuilt from what reaches us. The ledger normally sits behind a
// TLS-terminating proxy, so the scheme and host come from X-Forwarded-Proto / X-Forwarded-Host
// when the proxy sets them, else https (HubSpot only calls https targets) and the Host header.
// Trusting these headers gives an attacker nothing: they are signed over, so a forged value only
// makes the signature fail.
export function hubspotRequestUri(url: string, headers: IncomingHttpHeaders): string {
  const scheme = firstForwarded(headers['x-forwarded-proto'])?.toLowerCase() ?? 'https';
  const host = firstForwarded(headers['x-forwarded-host']) ?? headers.host;
  if (host === undefined || host.length === 0) {
    throw new LedgerError('LEDGER_SIGNATURE_INVALID', 'Cannot rebuild the signed URL without a Host header');
  }
  const path = url.replace(ESCAPES, (escape) => DECODED_IN_URI[escape.toUpperCase()] ?? escape);
  return `${scheme}://${host}${path}`;
}

export function hubspotV3Signature(secret: string, method: string, uri: string, rawBody: Buffer, timestamp: string): string {
  return hmacBase64(secret, [method.toUpperCase(), uri, rawBody, timestamp]);
}

// v1 (hex sha256(clientSecret + body)) is not accepted on the wire: it has no timestamp, so a
// captured delivery could be replayed forever. It is kept because HubSpot publishes a test
// vector for it, which pins down that bodies are hashed byte for byte as received.
export function hubspotV1Signature(secret: string, rawBody: Buffer): string {
  return createHash('sha256').update(secret).update(rawBody).digest('hex');
}

export function verifyHubspotSignature(clientSecret: string | undefined, input: VerifyInput): void {
  const secret = requireSecret(clientSecret);
  const signature = requiredHeader(input.headers, HUBSPOT_SIGNATURE_HEADER);
  const timestamp = requiredHeader(input.headers, HUBSPOT_TIMESTAMP_HEADER);
  assertFresh(/^\d+$/.test(timestamp) ? Number(timestamp) : Number.NaN, input.now, HUBSPOT_TIMESTAMP_HEADER);
  const uri = hubspotRequestUri(input.url, input.headers);
  assertSignatureMatches(hubspotV3Signature(secret, input.method, uri, input.rawBody, timestamp), signature);
}
