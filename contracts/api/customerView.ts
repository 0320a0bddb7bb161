import { z } from 'zod';
import { Cents, Currency, IdentityKind, LifecycleState, OccurredAt, Plan, SubscriptionStatus } from '../events/common.ts';
import { AmbiguousIdentity, ReviewReason } from '../events/decisions.ts';
import { IDENTITY_KINDS } from '../events/vocabulary.ts';
import { CustomerId } from './commandAccepted.ts';

// GET /v1/customers/{ref}: `cust_…`, or `<kind>:<external id>` for any person identity kind.
const REF = new RegExp(`^(cust_[0-9A-Za-z]+|(${IDENTITY_KINDS.join('|')}):.+)$`);
export const CustomerRefParams = z.object({
  ref: z
    .string()
    .max(512)
    .regex(REF, { error: `must be a customer id (cust_…) or one of ${IDENTITY_KINDS.map((k) => `${k}:<id>`).join(', ')}` })
    .meta({ description: 'cust_…, stripe:cus_…, crm:<contact id>, support:<requester id>, app:<user id> or email:<address>' }),
});

export const CustomerView = z.object({
  customerId: CustomerId,
  lifecycle: z.object({
    state: LifecycleState,
    since: OccurredAt.meta({ description: 'Source time of the fact that moved the customer into this state (the first fact for a lead)' }),
  }),
  identities: z.array(z.object({ kind: IdentityKind, externalId: z.string() })),
  version: z.number().int().positive().meta({ description: "The stream's version; also the ETag" }),
  profile: z.object({
    email: z.string().nullable(),
    firstName: z.string().nullable(),
    lastName: z.string().nullable(),
    phone: z.string().nullable(),
  }),
  plan: Plan.nullable(),
  subscriptionId: z.string().nullable(),
  subscriptionStatus: SubscriptionStatus.nullable(),
  mrrCents: Cents.nullable().meta({ description: "The subscription's MRR in minor units; kept after a cancellation" }),
  currency: Currency.nullable(),
  subscriptions: z
    .array(
      z.object({
        id: z.string(),
        status: SubscriptionStatus,
        plan: Plan.nullable(),
        mrrCents: Cents.nullable(),
        currency: Currency.nullable(),
        since: OccurredAt.meta({ description: 'The earliest source time seen for it' }),
      }),
    )
    .meta({
      description:
        'Every subscription seen, oldest first: a plan and an add-on side by side. Each part (status, terms, start) is the newest word on it, whatever order the facts arrived in; `subscriptionId` is the current one (the best live subscription)',
    }),
  trialEndsAt: OccurredAt.nullable(),
  lastPayment: z
    .object({
      outcome: z.enum(['succeeded', 'failed']),
      amountCents: Cents,
      currency: Currency,
      occurredAt: OccurredAt,
      invoiceId: z.string().nullable(),
    })
    .nullable(),
  lastRefund: z
    .object({
      chargeId: z.string(),
      refundedAmountCents: Cents,
      chargeAmountCents: Cents,
      currency: Currency,
      full: z.boolean(),
      occurredAt: OccurredAt,
    })
    .nullable(),
  review: z
    .object({
      reason: ReviewReason,
      from: LifecycleState,
      flaggedAt: OccurredAt,
      identity: AmbiguousIdentity.optional().meta({
        description: 'ambiguous_identity: the id the delivery named, the e-mail shared with the other customer, that customer, and the id of the same kind it holds',
      }),
    })
    .nullable()
    .meta({ description: 'Why the customer is in needs_review; null otherwise' }),
  openTicketIds: z.array(z.string()),
  deletedIn: z.array(IdentityKind).meta({ description: 'Systems that deleted their record of this customer' }),
});
export type CustomerView = z.infer<typeof CustomerView>;
