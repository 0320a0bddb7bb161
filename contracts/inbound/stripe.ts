import { z } from 'zod';

// The subset of Stripe webhook events the ledger reads, for API versions before and after
// 2025-03-31 ("basil"). No object is strict: Stripe adds fields in every version, and a field we
// do not read must never turn a delivery into a 400 (Stripe would retry it for three days). Each
// strips what it does not declare rather than copying it through: a Stripe object carries
// dozens of fields the mappers never read, and copying them was about half the cost of parsing
// and translating an event (`npm run bench -- mappers`). The inbox keeps the raw body, so
// nothing is lost for a later re-process.

const id = z.string().min(1);
// An expandable reference: an id, or the object itself when the endpoint expands it.
const ref = z.union([id, z.object({ id })]).transform((value) => (typeof value === 'string' ? value : value.id));
const optionalRef = ref.nullish();
const cents = z.number().int().nonnegative();
const currency = z
  .string()
  .regex(/^[A-Za-z]{3}$/, { error: 'must be an ISO 4217 code' })
  .transform((code) => code.toLowerCase());
// Before the year 10000: a time in milliseconds, or past what a Date can hold, is a contract
// error (400, the field named), not a 500 on every retry.
const unixSeconds = z.number().int().nonnegative().max(253_402_300_799, { error: 'must be a Unix time in seconds' });
const text = z.string().nullish();

export const STRIPE_INTERVALS = ['day', 'week', 'month', 'year'] as const;
const interval = z.enum(STRIPE_INTERVALS);
const intervalCount = z.number().int().positive().nullish();

export const StripePrice = z.object({
  id,
  product: optionalRef,
  nickname: text,
  currency: currency.optional(),
  // null for tiered prices and for fractional amounts (then only the decimal string is set).
  unit_amount: cents.nullish(),
  unit_amount_decimal: z.string().nullish(),
  recurring: z.object({ interval, interval_count: intervalCount, usage_type: text }).nullish(),
});
export type StripePrice = z.infer<typeof StripePrice>;

// The pre-2018 plan object, still sent beside `price` on items and invoice lines.
export const StripeLegacyPlan = z.object({
  id,
  product: optionalRef,
  nickname: text,
  currency: currency.optional(),
  amount: cents.nullish(),
  amount_decimal: z.string().nullish(),
  interval,
  interval_count: intervalCount,
  usage_type: text,
});
export type StripeLegacyPlan = z.infer<typeof StripeLegacyPlan>;

export const StripeSubscription = z.object({
  id,
  customer: ref,
  // Kept a string: a status Stripe adds later is ignored by the translator, not refused.
  status: z.string().min(1),
  currency: currency.optional(),
  items: z.object({
    data: z
      .array(
        z.object({
          price: StripePrice.nullish(),
          plan: StripeLegacyPlan.nullish(),
          quantity: z.number().int().nonnegative().nullish(),
        }),
      )
      .min(1),
  }),
  trial_end: unixSeconds.nullish(),
  cancel_at_period_end: z.boolean().nullish(),
  cancellation_details: z.object({ reason: text }).nullish(),
});
export type StripeSubscription = z.infer<typeof StripeSubscription>;

const StripeInvoiceLine = z.object({
  // Before basil: the price (and legacy plan) objects, the subscription id, the proration flag.
  price: StripePrice.nullish(),
  plan: StripeLegacyPlan.nullish(),
  subscription: optionalRef,
  proration: z.boolean().nullish(),
  // Basil: ids only, under pricing and parent.
  pricing: z.object({ price_details: z.object({ price: ref, product: optionalRef }).nullish() }).nullish(),
  parent: z
    .object({ subscription_item_details: z.object({ subscription: optionalRef, proration: z.boolean().nullish() }).nullish() })
    .nullish(),
});

export const StripeInvoice = z.object({
  id,
  customer: optionalRef,
  customer_email: text,
  currency,
  amount_due: cents,
  amount_paid: cents,
  attempt_count: z.number().int().nonnegative().nullish(),
  billing_reason: z.string().nullish(),
  next_payment_attempt: unixSeconds.nullish(),
  // Before basil.
  subscription: optionalRef,
  charge: optionalRef,
  payment_intent: optionalRef,
  // Basil.
  parent: z.object({ subscription_details: z.object({ subscription: optionalRef }).nullish() }).nullish(),
  payments: z
    .object({
      data: z.array(z.object({ status: text, payment: z.object({ payment_intent: optionalRef, charge: optionalRef }) })),
    })
    .nullish(),
  lines: z.object({ data: z.array(StripeInvoiceLine) }).nullish(),
});
export type StripeInvoice = z.infer<typeof StripeInvoice>;

export const StripeCharge = z.object({
  id,
  amount: cents,
  amount_refunded: cents,
  currency,
  customer: optionalRef,
  invoice: optionalRef,
  payment_intent: optionalRef,
  billing_details: z.object({ email: text }).nullish(),
  receipt_email: text,
  // Not included by default from API version 2022-11-15 on.
  refunds: z.object({ data: z.array(z.object({ id, reason: text })) }).nullish(),
});
export type StripeCharge = z.infer<typeof StripeCharge>;

export const StripeDispute = z.object({
  id,
  charge: ref,
  payment_intent: optionalRef,
  amount: cents,
  currency,
  reason: text,
});
export type StripeDispute = z.infer<typeof StripeDispute>;

export const StripeCheckoutSession = z.object({
  id,
  mode: z.string().min(1),
  payment_status: z.string().min(1),
  customer: optionalRef,
  customer_email: text,
  customer_details: z.object({ email: text, name: text, phone: text }).nullish(),
  payment_intent: optionalRef,
  subscription: optionalRef,
  invoice: optionalRef,
  amount_total: cents.nullish(),
  currency: currency.nullish(),
});
export type StripeCheckoutSession = z.infer<typeof StripeCheckoutSession>;

export const StripeCustomer = z.object({
  id,
  email: text,
  name: text,
  phone: text,
});
export type StripeCustomer = z.infer<typeof StripeCustomer>;

export const StripePaymentIntent = z.object({
  id,
  customer: optionalRef,
  amount: cents,
  amount_received: cents.nullish(),
  currency,
  // Removed in basil; before it, set on the payment intents that pay invoices.
  invoice: optionalRef,
  latest_charge: optionalRef,
  receipt_email: text,
  last_payment_error: z.object({ code: text, decline_code: text }).nullish(),
});
export type StripePaymentIntent = z.infer<typeof StripePaymentIntent>;

const envelopeFields = {
  id,
  created: unixSeconds,
  api_version: text,
  livemode: z.boolean(),
};
const previousAttributes = z.record(z.string(), z.unknown()).nullish();

// What every event has. Read first, so an unknown type is acknowledged without knowing its object.
export const StripeEventEnvelope = z.object({
  ...envelopeFields,
  type: z.string().min(1),
  data: z.object({ object: z.object({}), previous_attributes: previousAttributes }),
});
export type StripeEventEnvelope = z.infer<typeof StripeEventEnvelope>;

// A "thin" event (API v2, `object: v2.core.event`): an id and a type, its object to be fetched
// from the API. The ledger reads snapshot events only; a thin one is acknowledged and kept, as an
// unknown type is (a 400 would make Stripe retry it for three days).
export const StripeThinEvent = z.object({ id, object: z.literal('v2.core.event'), type: z.string().min(1) });
export type StripeThinEvent = z.infer<typeof StripeThinEvent>;

const eventOf = <const T extends readonly [string, ...string[]], O extends z.ZodType>(types: T, object: O) =>
  z.object({ ...envelopeFields, type: z.enum(types), data: z.object({ object, previous_attributes: previousAttributes }) });

const families = [
  eventOf(['customer.created', 'customer.updated', 'customer.deleted'], StripeCustomer),
  eventOf(
    ['customer.subscription.created', 'customer.subscription.updated', 'customer.subscription.deleted', 'customer.subscription.trial_will_end'],
    StripeSubscription,
  ),
  eventOf(['invoice.paid', 'invoice.payment_succeeded', 'invoice.payment_failed'], StripeInvoice),
  eventOf(['charge.refunded'], StripeCharge),
  eventOf(['charge.dispute.created'], StripeDispute),
  eventOf(['checkout.session.completed'], StripeCheckoutSession),
  eventOf(['payment_intent.succeeded', 'payment_intent.payment_failed'], StripePaymentIntent),
] as const;

// The events the ledger translates, each with its object parsed; other types are acknowledged
// and kept in the inbox only.
export const StripeKnownEvent = z.discriminatedUnion('type', families);
export type StripeKnownEvent = z.infer<typeof StripeKnownEvent>;
export type StripeKnownEventType = StripeKnownEvent['type'];

const KNOWN_TYPES: ReadonlySet<string> = new Set(families.flatMap((family) => family.shape.type.options));

export function isKnownStripeEventType(type: string): type is StripeKnownEventType {
  return KNOWN_TYPES.has(type);
}

// Stripe accepts addresses our domain schema does not (it checks loosely): such an address is
// left out of facts and identities rather than making the customer's stream unreadable.
const emailAddress = z.email();
export function normalisedEmail(raw: string | null | undefined): string | undefined {
  if (raw === null || raw === undefined) return undefined;
  const email = raw.trim().toLowerCase();
  return emailAddress.safeParse(email).success ? email : undefined;
}
