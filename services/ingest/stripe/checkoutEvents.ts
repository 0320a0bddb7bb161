import { domainEvent } from '../../../contracts/domainEvents.ts';
import { normalisedEmail, type StripeKnownEvent } from '../../../contracts/inbound/stripe.ts';
import type { Translation } from '../webhookSource.ts';
import { hasProfileData, profileChangeOf } from './stripeProfile.ts';
import { claimsOf, factsOf, ignoredEvent, occurredAtOf, type StripeFact } from './stripeFacts.ts';

type CheckoutEvent = Extract<StripeKnownEvent, { type: 'checkout.session.completed' }>;

// checkout.session.completed records only what a completed session makes certain:
// - the details the customer typed (CustomerProfileUpdated);
// - for a one-off purchase (mode payment) that is paid, the payment (PaymentSucceeded).
// A subscription checkout does not activate anything here: the subscription may still be
// incomplete, and customer.subscription.* and invoice.* carry its status and its payments.
// An asynchronous payment (payment_status unpaid) is recorded when payment_intent.succeeded
// arrives. The payment intent is claimed so that its later events find this customer.
export function translateCheckoutEvent(event: CheckoutEvent): Translation {
  const session = event.data.object;
  const occurredAt = occurredAtOf(event.created);
  const details = session.customer_details;
  const email = normalisedEmail(details?.email ?? session.customer_email);
  const identities = claimsOf({
    customer: session.customer,
    email,
    lookups: [
      ['stripe_payment_intent', session.payment_intent],
      ['stripe_subscription', session.subscription],
      ['stripe_invoice', session.invoice],
    ],
  });
  const createIfMissing = session.customer != null || email !== undefined;
  const facts: StripeFact[] = [];

  const profile = profileChangeOf({ email: details?.email ?? session.customer_email, name: details?.name, phone: details?.phone });
  if (hasProfileData(profile)) {
    facts.push({ fact: domainEvent('CustomerProfileUpdated', { occurredAt, ...profile }), identities, createIfMissing });
  }
  const paymentIntentId = session.payment_intent ?? undefined;
  const { amount_total: amountCents, currency } = session;
  if (session.mode === 'payment' && session.payment_status === 'paid' && paymentIntentId && amountCents != null && currency) {
    facts.push({ fact: domainEvent('PaymentSucceeded', { occurredAt, paymentIntentId, amountCents, currency }), identities, createIfMissing });
  }
  if (facts.length === 0) return ignoredEvent(event.id, `checkout session (mode ${session.mode}) without customer details or a payment`);
  return factsOf(event.id, facts);
}
