import { domainEvent } from '../../../contracts/domainEvents.ts';
import { normalisedEmail, type StripeKnownEvent } from '../../../contracts/inbound/stripe.ts';
import type { Translation } from '../webhookSource.ts';
import { claimsOf, factsOf, ignoredEvent, occurredAtOf, withoutUndefined } from './stripeFacts.ts';

type PaymentIntentEvent = Extract<StripeKnownEvent, { type: `payment_intent.${string}` }>;

// payment_intent.succeeded / payment_failed -> PaymentSucceeded / PaymentFailed for payments
// outside invoices (one-off purchases). A payment intent that pays an invoice is recorded from
// the invoice events, which name the subscription; before basil the intent says so itself.
// A payment intent with no customer and no e-mail finds its customer through the checkout
// session that claimed it, and is 'unmatched' (kept in the inbox) until then.
export function translatePaymentIntentEvent(event: PaymentIntentEvent): Translation {
  const intent = event.data.object;
  if (intent.invoice) return ignoredEvent(event.id, 'payment intent of an invoice: recorded from the invoice events');
  const occurredAt = occurredAtOf(event.created);
  const email = normalisedEmail(intent.receipt_email);
  const refs = withoutUndefined({ paymentIntentId: intent.id, chargeId: intent.latest_charge ?? undefined });
  const fact =
    event.type === 'payment_intent.succeeded'
      ? domainEvent('PaymentSucceeded', { occurredAt, ...refs, amountCents: intent.amount_received ?? intent.amount, currency: intent.currency })
      : domainEvent(
          'PaymentFailed',
          withoutUndefined({
            occurredAt,
            ...refs,
            amountCents: intent.amount,
            currency: intent.currency,
            failureCode: intent.last_payment_error?.decline_code ?? intent.last_payment_error?.code ?? undefined,
          }),
        );
  const identities = claimsOf({
    customer: intent.customer,
    email,
    lookups: [
      ['stripe_payment_intent', intent.id],
      ['stripe_charge', intent.latest_charge],
    ],
  });
  return factsOf(event.id, [{ fact, identities, createIfMissing: intent.customer != null || email !== undefined }]);
}
