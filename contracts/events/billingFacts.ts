import { z } from 'zod';
import { Cents, Currency, OccurredAt, Plan, SubscriptionId, SubscriptionStatus } from './common.ts';

// Stripe facts. Every payment-ish fact names the objects it concerns, because the ordering key
// (domain/ordering.ts) is the subscription when there is one, else the invoice or the charge.

const subscriptionSnapshot = {
  occurredAt: OccurredAt,
  subscriptionId: SubscriptionId,
  plan: Plan,
  mrrCents: Cents.optional(),
  currency: Currency.optional(),
};

export const TrialStartedData = z.object({
  ...subscriptionSnapshot,
  trialEndsAt: OccurredAt.optional(),
});

export const SubscriptionActivatedData = z.object(subscriptionSnapshot);

// A snapshot of a subscription (customer.subscription.updated): not a transition by itself,
// the lifecycle machine reads meaning into its status.
export const SubscriptionChangedData = z.object({
  ...subscriptionSnapshot,
  status: SubscriptionStatus,
  cancelAtPeriodEnd: z.boolean().optional(),
  trialEndsAt: OccurredAt.optional(),
});

export const TrialWillEndData = z.object({
  occurredAt: OccurredAt,
  subscriptionId: SubscriptionId,
  trialEndsAt: OccurredAt,
});

const paymentRefs = {
  invoiceId: z.string().min(1).optional(),
  chargeId: z.string().min(1).optional(),
  paymentIntentId: z.string().min(1).optional(),
  subscriptionId: SubscriptionId.optional(),
};
const namesAPayment = (refs: { invoiceId?: string; chargeId?: string; paymentIntentId?: string }) =>
  refs.invoiceId !== undefined || refs.chargeId !== undefined || refs.paymentIntentId !== undefined;
const paymentRefRequired = { error: 'one of invoiceId, chargeId, paymentIntentId is required' };

export const PaymentSucceededData = z
  .object({
    occurredAt: OccurredAt,
    ...paymentRefs,
    amountCents: Cents,
    currency: Currency,
    plan: Plan.optional(),
    mrrCents: Cents.optional(),
  })
  .refine(namesAPayment, paymentRefRequired);

// v1 (2024): the amount in major units as a float, which loses cents (19.99 * 100 !== 1999).
// Kept only so that the upcaster can read what was stored then.
export const PaymentSucceededDataV1 = z
  .object({
    occurredAt: OccurredAt,
    ...paymentRefs,
    amount: z.number().nonnegative(),
    currency: Currency,
  })
  .refine(namesAPayment, paymentRefRequired);

export const PaymentFailedData = z
  .object({
    occurredAt: OccurredAt,
    ...paymentRefs,
    amountCents: Cents,
    currency: Currency,
    attemptCount: z.number().int().nonnegative().optional(),
    failureCode: z.string().optional(),
    nextAttemptAt: OccurredAt.optional(),
    // Stripe's invoice billing_reason: 'subscription_cycle' is a renewal, which tells the
    // lifecycle that the subscription was running even when none of its earlier facts is here.
    billingReason: z.string().min(1).optional(),
  })
  .refine(namesAPayment, paymentRefRequired);

export const SubscriptionCanceledData = z.object({
  occurredAt: OccurredAt,
  subscriptionId: SubscriptionId,
  reason: z.string().optional(),
});

// charge.refunded carries the charge's cumulative refunded amount; a refund is full when it
// reaches the charged amount, so a second partial refund that completes it counts as full.
export const RefundIssuedData = z
  .object({
    occurredAt: OccurredAt,
    chargeId: z.string().min(1),
    refundId: z.string().min(1).optional(),
    invoiceId: z.string().min(1).optional(),
    paymentIntentId: z.string().min(1).optional(),
    subscriptionId: SubscriptionId.optional(),
    chargeAmountCents: Cents,
    refundedAmountCents: Cents,
    currency: Currency,
    reason: z.string().optional(),
  })
  .refine((refund) => refund.refundedAmountCents <= refund.chargeAmountCents, {
    error: 'refundedAmountCents cannot exceed chargeAmountCents',
    path: ['refundedAmountCents'],
  });

export const DisputeOpenedData = z.object({
  occurredAt: OccurredAt,
  disputeId: z.string().min(1),
  chargeId: z.string().min(1),
  subscriptionId: SubscriptionId.optional(),
  amountCents: Cents,
  currency: Currency,
  reason: z.string().optional(),
});
