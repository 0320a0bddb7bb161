import Stripe from 'stripe';
import { LedgerError } from '../../../domain/errors.ts';
import { NO_SECRET_DETAIL } from '../hmacSignature.ts';
import type { VerifyInput } from '../webhookSource.ts';

// Stripe's replay window (and the library's default): a signed delivery older than this is refused.
export const STRIPE_TOLERANCE_SECONDS = 300;

const signature = Stripe.webhooks.signature;

// Checks the Stripe-Signature header over the exact bytes received, against each configured
// secret in turn (during a rotation Stripe signs with both, and we may hold either).
//
// The timestamp is judged on the injected clock, here and in the library (its `receivedAt`), so
// tests and replays decide the same way as production; our own check comes first only to tell
// a stale delivery from a forged one, the library still enforces the same window.
export function verifyStripeSignature(secrets: readonly string[], input: VerifyInput): void {
  // No secret configured: nothing can be verified, so nothing is accepted — said first, as the
  // HMAC sources do, so that `ledger doctor`'s unsigned probe can tell it (hmacSignature.ts).
  if (secrets.length === 0) throw new LedgerError('LEDGER_SIGNATURE_INVALID', NO_SECRET_DETAIL);
  const header = input.headers['stripe-signature'];
  if (header === undefined || header === '' || (Array.isArray(header) && header.length === 0)) {
    throw new LedgerError('LEDGER_SIGNATURE_MISSING', 'Stripe-Signature header missing');
  }
  if (signature === null || typeof header !== 'string') throw invalid();

  const timestamp = timestampOf(header);
  if (timestamp === undefined) throw invalid();
  const nowSeconds = Math.floor(input.now.getTime() / 1000);
  // A timestamp from the future is as suspect as an old one: either widens the replay window.
  if (Math.abs(nowSeconds - timestamp) > STRIPE_TOLERANCE_SECONDS) {
    throw new LedgerError('LEDGER_SIGNATURE_STALE', `Stripe-Signature timestamp is more than ${STRIPE_TOLERANCE_SECONDS} s from now`);
  }
  for (const secret of secrets) {
    try {
      signature.verifyHeader(input.rawBody, header, secret, STRIPE_TOLERANCE_SECONDS, undefined, input.now.getTime());
      return;
    } catch {
      // Try the next secret; every failure here reads as "does not match".
    }
  }
  throw invalid();
}

const invalid = () => new LedgerError('LEDGER_SIGNATURE_INVALID', 'Stripe-Signature does not match the body');

// The library reads the last `t=` element, so do we.
function timestampOf(header: string): number | undefined {
  let timestamp: number | undefined;
  for (const element of header.split(',')) {
    const [key, value] = element.split('=', 2);
    if (key?.trim() === 't' && value !== undefined && /^\d{1,12}$/.test(value.trim())) timestamp = Number(value.trim());
  }
  return timestamp;
}
