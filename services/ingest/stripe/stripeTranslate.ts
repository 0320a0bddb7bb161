import type { StripeEventEnvelope, StripeKnownEvent, StripeThinEvent } from '../../../contracts/inbound/stripe.ts';
import type { Translation } from '../webhookSource.ts';
import { translateDispute, translateRefund } from './chargeEvents.ts';
import { translateCheckoutEvent } from './checkoutEvents.ts';
import { translateCustomerEvent } from './customerEvents.ts';
import { translateInvoiceEvent } from './invoiceEvents.ts';
import { translatePaymentIntentEvent } from './paymentIntentEvents.ts';
import { ignoredEvent } from './stripeFacts.ts';
import { translateSubscriptionEvent } from './subscriptionEvents.ts';

// A delivery as parsed: a type we translate, with its object checked against the contract, or
// any other type, acknowledged and kept in the inbox only (a 4xx would make Stripe retry it for
// three days).
export type StripeDelivery =
  | { kind: 'known'; event: StripeKnownEvent }
  | { kind: 'unknown'; envelope: StripeEventEnvelope }
  | { kind: 'thin'; event: StripeThinEvent };

// Pure: one Stripe event in, the facts it states out. Never reads the clock.
export function translateStripeEvent(delivery: StripeDelivery): Translation {
  if (delivery.kind === 'unknown') return ignoredEvent(delivery.envelope.id, `unhandled event type ${delivery.envelope.type}`);
  if (delivery.kind === 'thin') {
    return ignoredEvent(delivery.event.id, `thin event ${delivery.event.type}: the ledger reads snapshot events; send those to this endpoint`);
  }
  const { event } = delivery;
  switch (event.type) {
    case 'customer.created':
    case 'customer.updated':
    case 'customer.deleted':
      return translateCustomerEvent(event);
    case 'customer.subscription.created':
    case 'customer.subscription.updated':
    case 'customer.subscription.deleted':
    case 'customer.subscription.trial_will_end':
      return translateSubscriptionEvent(event);
    case 'invoice.paid':
    case 'invoice.payment_succeeded':
    case 'invoice.payment_failed':
      return translateInvoiceEvent(event);
    case 'charge.refunded':
      return translateRefund(event);
    case 'charge.dispute.created':
      return translateDispute(event);
    case 'checkout.session.completed':
      return translateCheckoutEvent(event);
    case 'payment_intent.succeeded':
    case 'payment_intent.payment_failed':
      return translatePaymentIntentEvent(event);
    default: {
      const unhandled: never = event;
      throw new Error(`translateStripeEvent: unhandled type ${JSON.stringify(unhandled)}`);
    }
  }
}
