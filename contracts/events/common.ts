import { z } from 'zod';
import { IDENTITY_KINDS, LIFECYCLE_STATES, SUBSCRIPTION_STATUSES } from './vocabulary.ts';

// The source's own time for a fact, ISO 8601 with an offset. Stripe's whole-second `created`
// arrives here as `…:SSZ`; ordering and ties are decided in domain/ordering.ts.
export const OccurredAt = z.iso.datetime({ offset: true });

// Money is integer minor units (cents, or yen for zero-decimal currencies): never floats.
export const Cents = z.number().int().nonnegative();
// Stripe spells currencies in lower case; translators normalise other sources to match.
export const Currency = z.string().regex(/^[a-z]{3}$/, { error: 'must be a lower-case ISO 4217 code' });

export const LifecycleState = z.enum(LIFECYCLE_STATES);
export const SubscriptionStatus = z.enum(SUBSCRIPTION_STATUSES);
export const IdentityKind = z.enum(IDENTITY_KINDS);

const id = z.string().min(1);
export const SubscriptionId = id;
export const ExternalId = id;

// What a customer is on: Stripe's price (the billable thing) and, where known, its product,
// nickname and cadence, so the CRM and the app need no second lookup.
export const Plan = z.object({
  priceId: id,
  productId: id.optional(),
  nickname: z.string().optional(),
  interval: z.enum(['day', 'week', 'month', 'year']).optional(),
  intervalCount: z.number().int().positive().optional(),
});
export type Plan = z.infer<typeof Plan>;
