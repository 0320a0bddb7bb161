import { domainEvent } from '../../../contracts/domainEvents.ts';
import { normalisedEmail, type StripeKnownEvent } from '../../../contracts/inbound/stripe.ts';
import type { Translation } from '../webhookSource.ts';
import { claimsOf, factsOf, occurredAtOf, withoutUndefined } from './stripeFacts.ts';

type RefundEvent = Extract<StripeKnownEvent, { type: 'charge.refunded' }>;
type DisputeEvent = Extract<StripeKnownEvent, { type: 'charge.dispute.created' }>;

// Money going back never invents a customer: a refund or dispute nobody can be found for is kept
// in the inbox as 'unmatched' (for `ledger redeliver`), not turned into a new, flagged lead.

// charge.refunded carries the charge's cumulative refunded amount, so a second partial refund
// that completes the first reads as full (contracts/events/billingFacts.ts).
export function translateRefund(event: RefundEvent): Translation {
  const charge = event.data.object;
  // Stripe lists refunds newest first.
  const latest = charge.refunds?.data[0];
  const fact = domainEvent(
    'RefundIssued',
    withoutUndefined({
      occurredAt: occurredAtOf(event.created),
      chargeId: charge.id,
      refundId: latest?.id,
      invoiceId: charge.invoice ?? undefined,
      paymentIntentId: charge.payment_intent ?? undefined,
      chargeAmountCents: charge.amount,
      refundedAmountCents: charge.amount_refunded,
      currency: charge.currency,
      reason: latest?.reason ?? undefined,
    }),
  );
  const identities = claimsOf({
    customer: charge.customer,
    email: normalisedEmail(charge.billing_details?.email ?? charge.receipt_email),
    lookups: [
      ['stripe_charge', charge.id],
      ['stripe_payment_intent', charge.payment_intent],
      ['stripe_invoice', charge.invoice],
    ],
  });
  return factsOf(event.id, [{ fact, identities, createIfMissing: false }]);
}

// A dispute names its charge, never the customer: the charge (or payment intent) claimed when
// the payment was recorded leads to it.
export function translateDispute(event: DisputeEvent): Translation {
  const dispute = event.data.object;
  const fact = domainEvent(
    'DisputeOpened',
    withoutUndefined({
      occurredAt: occurredAtOf(event.created),
      disputeId: dispute.id,
      chargeId: dispute.charge,
      amountCents: dispute.amount,
      currency: dispute.currency,
      reason: dispute.reason ?? undefined,
    }),
  );
  const identities = claimsOf({
    lookups: [
      ['stripe_charge', dispute.charge],
      ['stripe_payment_intent', dispute.payment_intent],
    ],
  });
  return factsOf(event.id, [{ fact, identities, createIfMissing: false }]);
}
