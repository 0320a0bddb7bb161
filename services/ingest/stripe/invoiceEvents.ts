import { domainEvent } from '../../../contracts/domainEvents.ts';
import type { Plan } from '../../../contracts/events/common.ts';
import { normalisedEmail, type StripeInvoice, type StripeKnownEvent } from '../../../contracts/inbound/stripe.ts';
import type { Translation } from '../webhookSource.ts';
import { planOf, pricedOf } from './stripePricing.ts';
import { claimsOf, factsOf, ignoredEvent, occurredAtOf, withoutUndefined } from './stripeFacts.ts';

type InvoiceEvent = Extract<StripeKnownEvent, { type: `invoice.${string}` }>;

// invoice.paid / invoice.payment_succeeded -> PaymentSucceeded; invoice.payment_failed ->
// PaymentFailed. Stripe sends both success events for one payment: they share the invoice,
// so they are two records of one payment, and the lifecycle treats the second as a no-op.
export function translateInvoiceEvent(event: InvoiceEvent): Translation {
  const invoice = event.data.object;
  const failed = event.type === 'invoice.payment_failed';
  // A $0 invoice (a trial's first, a 100 % coupon) moves no money; the subscription events
  // say what the customer is on. Reading it as a payment would end a trial on day one.
  if (!failed && invoice.amount_paid === 0) return ignoredEvent(event.id, 'invoice paid with no amount');

  const refs = paymentRefsOf(invoice, failed ? undefined : 'paid');
  const occurredAt = occurredAtOf(event.created);
  const identities = claimsOf({
    customer: invoice.customer,
    email: normalisedEmail(invoice.customer_email),
    lookups: [
      ['stripe_invoice', refs.invoiceId],
      ['stripe_charge', refs.chargeId],
      ['stripe_payment_intent', refs.paymentIntentId],
      ['stripe_subscription', refs.subscriptionId],
    ],
  });
  const fact = failed
    ? domainEvent(
        'PaymentFailed',
        withoutUndefined({
          occurredAt,
          ...refs,
          amountCents: invoice.amount_due,
          currency: invoice.currency,
          attemptCount: invoice.attempt_count ?? undefined,
          nextAttemptAt: invoice.next_payment_attempt ? occurredAtOf(invoice.next_payment_attempt) : undefined,
          billingReason: invoice.billing_reason || undefined,
        }),
      )
    : domainEvent('PaymentSucceeded', withoutUndefined({ occurredAt, ...refs, amountCents: invoice.amount_paid, currency: invoice.currency, plan: planOfLines(invoice) }));
  return factsOf(event.id, [{ fact, identities, createIfMissing: invoice.customer != null }]);
}

interface PaymentRefs {
  invoiceId: string;
  subscriptionId?: string;
  chargeId?: string;
  paymentIntentId?: string;
}

// Before basil the invoice names its subscription, charge and payment intent itself; from basil
// on they live under `parent.subscription_details` and `payments.data[].payment`.
function paymentRefsOf(invoice: StripeInvoice, preferredStatus: string | undefined): PaymentRefs {
  const lines = invoice.lines?.data ?? [];
  const subscriptionId =
    invoice.subscription ??
    invoice.parent?.subscription_details?.subscription ??
    lines.map((line) => line.subscription ?? line.parent?.subscription_item_details?.subscription).find((id) => id) ??
    undefined;
  const payments = invoice.payments?.data ?? [];
  const payment = (payments.find((p) => p.status === preferredStatus) ?? payments[0])?.payment;
  return withoutUndefined({
    invoiceId: invoice.id,
    subscriptionId,
    chargeId: invoice.charge ?? payment?.charge ?? undefined,
    paymentIntentId: invoice.payment_intent ?? payment?.payment_intent ?? undefined,
  });
}

// The first line that names a price, preferring those that are not prorations (an upgrade's
// invoice lists the unused time on the old price first). Basil lines carry ids only.
function planOfLines(invoice: StripeInvoice): Plan | undefined {
  const lines = invoice.lines?.data ?? [];
  const isProration = (line: (typeof lines)[number]) => line.proration === true || line.parent?.subscription_item_details?.proration === true;
  for (const line of [...lines.filter((l) => !isProration(l)), ...lines.filter(isProration)]) {
    const priced = pricedOf(line.price, line.plan);
    if (priced) return planOf(priced);
    const details = line.pricing?.price_details;
    if (details) return withoutUndefined({ priceId: details.price, productId: details.product ?? undefined });
  }
  return undefined;
}
