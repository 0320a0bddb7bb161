import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { LedgerError } from '../../domain/errors.ts';

// The parts HubSpot's and Zendesk's signature checks share: HMAC-SHA256 over exact bytes, a
// constant-time comparison, a replay window, and failing closed without a secret.

// Both providers ask for 5 minutes; the window is symmetric so a sender's clock a little ahead
// of ours is tolerated the same as one behind.
export const SIGNATURE_TOLERANCE_MS = 5 * 60 * 1000;

// Without a configured secret nothing can be verified, so nothing is accepted. (Production
// refuses to start without one; this keeps a development instance from trusting anybody.)
// `ledger doctor` tells this refusal by its detail (doctorNetworkChecks.ts).
export const NO_SECRET_DETAIL = 'Signature cannot be verified';
export function requireSecret(secret: string | undefined): string {
  if (secret === undefined || secret.length === 0) {
    throw new LedgerError('LEDGER_SIGNATURE_INVALID', NO_SECRET_DETAIL);
  }
  return secret;
}

// A header the signature depends on: present once and non-empty, else the delivery is unsigned.
export function requiredHeader(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  const single = Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value;
  if (single === undefined || single.trim().length === 0) {
    throw new LedgerError('LEDGER_SIGNATURE_MISSING', `Header ${name} is required`, { header: name });
  }
  return single.trim();
}

export function assertFresh(signedAtMs: number, now: Date, header: string): void {
  if (!Number.isFinite(signedAtMs)) {
    throw new LedgerError('LEDGER_SIGNATURE_INVALID', `Header ${header} is not a valid timestamp`, { header });
  }
  if (Math.abs(now.getTime() - signedAtMs) > SIGNATURE_TOLERANCE_MS) {
    throw new LedgerError('LEDGER_SIGNATURE_STALE', 'Signature timestamp is more than 5 minutes from the current time', {
      header,
      toleranceSeconds: SIGNATURE_TOLERANCE_MS / 1000,
    });
  }
}

// base64(HMAC-SHA256(secret, parts…)), fed part by part so the body's bytes are hashed as
// received, never decoded and re-encoded.
export function hmacBase64(secret: string, parts: ReadonlyArray<string | Buffer>): string {
  const hmac = createHmac('sha256', secret);
  for (const part of parts) hmac.update(part);
  return hmac.digest('base64');
}

export function assertSignatureMatches(expected: string, given: string): void {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  // timingSafeEqual needs equal lengths; the length of a base64 SHA-256 digest is public anyway.
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw new LedgerError('LEDGER_SIGNATURE_INVALID');
  }
}
