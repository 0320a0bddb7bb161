import { readFileSync } from 'node:fs';
import { providerFixtureUrl } from './providerFixtures.ts';

// The Stripe fixtures (unedited, test/fixtures/providers/stripe) and variants derived from them in
// code. All eight fixtures share one event id and one customer: give each a distinct id when
// combining them.

const FIXTURES = providerFixtureUrl('stripe', '');

export const STRIPE_FIXTURES = [
  'charge.refunded',
  'checkout.session.completed',
  'customer.created',
  'customer.subscription.created',
  'customer.subscription.deleted',
  'customer.subscription.updated',
  'invoice.paid',
  'invoice.payment_failed',
] as const;
export type StripeFixture = (typeof STRIPE_FIXTURES)[number];

// Fixture JSON is edited freely by tests; the translator parses it with its contract.
export type Json = Record<string, any>;

export const rawFixture = (name: string): Buffer => readFileSync(new URL(`${name}.json`, FIXTURES));
export const fixture = (name: string): Json => JSON.parse(rawFixture(name).toString('utf8'));

export const FIXTURE_IDS = {
  event: 'evt_000000000000000000000000',
  customer: 'cus_00000000000000',
  subscription: 'sub_000000000000000000000000',
  charge: 'ch_000000000000000000000000',
  paymentIntent: 'pi_000000000000000000000000',
  invoice: 'in_000000000000000000000000',
} as const;

// An invoice as an endpoint on API version 2025-03-31 ("basil") or later receives it: no
// top-level subscription, charge or payment intent; those live under parent and payments, and
// lines name their price by id under pricing.price_details.
export function basilInvoice(
  type = 'invoice.paid',
  ids: { subscription?: string; customer?: string; invoice?: string; paymentIntent?: string } = {},
): Json {
  const subscriptionId = ids.subscription ?? FIXTURE_IDS.subscription;
  const event = fixture('invoice.paid');
  event.type = type;
  event.api_version = '2025-03-31.basil';
  const invoice = event.data.object;
  invoice.id = ids.invoice ?? FIXTURE_IDS.invoice;
  invoice.customer = ids.customer ?? FIXTURE_IDS.customer;
  delete invoice.subscription;
  delete invoice.charge;
  delete invoice.payment_intent;
  invoice.parent = { type: 'subscription_details', quote_details: null, subscription_details: { subscription: subscriptionId, metadata: {} } };
  invoice.payments = {
    object: 'list',
    data: [{ id: 'inpay_1', object: 'invoice_payment', status: 'paid', payment: { type: 'payment_intent', payment_intent: ids.paymentIntent ?? 'pi_basil' } }],
  };
  const line = invoice.lines.data[0];
  delete line.price;
  delete line.plan;
  delete line.subscription;
  line.pricing = { type: 'price_details', price_details: { price: 'price_basil', product: 'prod_basil' }, unit_amount_decimal: '2000' };
  line.parent = { type: 'subscription_item_details', subscription_item_details: { subscription: subscriptionId, subscription_item: 'si_1' } };
  return event;
}

// customer.subscription.* built from the updated fixture, with the given status and changes.
export function subscriptionEvent(type: string, patch: Json, previous?: Json): Json {
  const event = fixture('customer.subscription.updated');
  event.type = type;
  Object.assign(event.data.object, patch);
  if (previous === undefined) delete event.data.previous_attributes;
  else event.data.previous_attributes = previous;
  return event;
}
