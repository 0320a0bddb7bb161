import { z } from 'zod';
import { Actor } from '../eventMetadata.ts';
import { ExternalId, IdentityKind, LifecycleState, OccurredAt } from './common.ts';
import { OVERRIDE_ACTIONS } from './vocabulary.ts';

// What the ledger concluded (or a human decided). Appended in the same append as the fact or
// command that caused it.

// The fact (or override) that caused a decision. `orderingKey` lets evolve() mark which
// object's watermark the decision won, so replay needs no re-evaluation of the rules.
export const Cause = z.object({
  type: z.string().min(1),
  occurredAt: OccurredAt,
  orderingKey: z.string().min(1).optional(),
});
export type Cause = z.infer<typeof Cause>;

export const LifecycleChangedData = z.object({
  from: LifecycleState,
  to: LifecycleState,
  cause: Cause,
});

// A customer leaves needs_review by a human's override, or when the ledger withdraws a flag that
// facts arriving later show came from the arrival order (refund_without_payment: the payment it
// refunds arrived; payment_after_cancel: another subscription was live when the payment was
// made; domain/provisionalFlags.ts). What the timeline and `ledger trace` say of the latter.
export const REVIEW_WITHDRAWN = 'review withdrawn: facts that arrived later show the flag came from the arrival order';
export const isReviewWithdrawn = (data: z.infer<typeof LifecycleChangedData>): boolean =>
  data.from === 'needs_review' && data.cause.type !== 'ManualOverrideApplied';

// Stable, machine-readable reasons: alerts and the review queue group on them.
export const REVIEW_REASONS = [
  'refund_without_payment',
  'dispute_without_payment',
  'dispute_opened',
  'payment_after_cancel',
  'canceled_subscription_resumed',
  'manual_review',
  // One e-mail, two customers (domain/identityMatch.ts): a human merges them or confirms.
  'ambiguous_identity',
] as const;
export const ReviewReason = z.enum(REVIEW_REASONS);
export type ReviewReason = z.infer<typeof ReviewReason>;

const IdentityRef = z.object({ kind: IdentityKind, externalId: ExternalId });

// What a reviewer of an ambiguous_identity flag needs to merge or confirm: this customer's id
// that the delivery named, the e-mail it shares with another customer, that customer, and (when
// that is why they were not merged) the id of the same kind the other customer already holds.
export const AmbiguousIdentity = z.object({
  claimed: IdentityRef,
  matchedBy: IdentityRef,
  otherCustomerId: z.string().min(1),
  otherHolds: IdentityRef.optional(),
});
export type AmbiguousIdentity = z.infer<typeof AmbiguousIdentity>;

export const FlaggedForReviewData = z.object({
  reason: ReviewReason,
  from: LifecycleState,
  cause: Cause,
  // Present with reason ambiguous_identity. Optional, so events written before it still read.
  identity: AmbiguousIdentity.optional(),
});

// The customer's state stays; the time it began moves. A billing fact that arrived late shows
// that, delivered in source-time order, the customer entered this state at another time (e.g.
// the invoice that activated them overtaken by their subscription's later "active"): `cause` is
// the fact that moved them there in that order, `previousSince` what the arrival order had said.
// Arrival order must not date a state: past_due's grace period runs from it
// (domain/sinceInOrder.ts).
// Under review for a dispute, the state the customer was flagged from can be the arrival
// order's too (the CRM and support views show them by it; resolve_review returns them to it):
// `reviewFrom` is that state in source-time order, `previousReviewFrom` the arrival order's.
export const LifecycleRedatedData = z.object({
  lifecycle: LifecycleState,
  previousSince: OccurredAt.nullable(),
  cause: Cause,
  reviewFrom: LifecycleState.optional(),
  previousReviewFrom: LifecycleState.optional(),
});

// What the timeline and `ledger trace` say of a re-dating.
export const redatedText = (data: z.infer<typeof LifecycleRedatedData>): string =>
  data.reviewFrom !== undefined
    ? `review flagged from ${data.reviewFrom}, was ${data.previousReviewFrom ?? 'unknown'}: a fact that arrived late came first`
    : `${data.lifecycle} re-dated to ${data.cause.occurredAt} (${data.cause.type}), was ${data.previousSince ?? 'undated'}: a fact that arrived late came first`;

export const ManualOverrideAppliedData = z.object({
  occurredAt: OccurredAt,
  action: z.enum(OVERRIDE_ACTIONS),
  to: LifecycleState.optional(),
  reason: z.string().min(1),
  actor: Actor,
});

export const ReviewResolvedData = z.object({
  occurredAt: OccurredAt,
  reviewReason: ReviewReason,
  to: LifecycleState,
  actor: Actor,
});
