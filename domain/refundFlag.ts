import { domainEvent, type DomainEvent, type FactEvent } from '../contracts/domainEvents.ts';
import type { Cause } from '../contracts/events/decisions.ts';
import type { LifecycleState } from '../contracts/events/vocabulary.ts';
import { evolve, type CustomerState } from './customerState.ts';
import { evaluateLifecycle } from './lifecycleMachine.ts';
import { arrivalOf, isSuperseded } from './ordering.ts';
import { paymentKnownBefore, refundStanding } from './refunds.ts';
import { bestLiveState, liveSubscriptions } from './subscriptions.ts';

// A refund with no payment known flags a lead or a trial (refund_without_payment: money we never
// saw paid). The flag may be the arrival order's: the payment it refunds can arrive after it.
// So, unlike other flags, facts recorded under it are still judged, from where the customer
// would be without it:
// - one that needs a human for its own reason (a dispute, a payment after a cancellation)
//   replaces the flag, as in order it would have flagged the customer;
// - a subscription payment older than the refund withdraws it: in source-time order the customer
//   paid, then was refunded, so they go where in-order delivery leaves them: refunded while a
//   full refund stands (since the refund), else (newer money or a newer subscription overtook
//   it, or the refund was partial) what their best live subscription makes them. Stale payments
//   count too. A payment newer than the refund, or of its own second, leaves the flag: in order
//   it came after the flag too, or is judged with the refund from before them (refunds.ts).
// Facts of an instant already seen are not judged again here (their instant's base is the
// review), nor stale or superseded ones: they decide nothing in order either.
export function underRefundFlag(fact: FactEvent, state: CustomerState, key: string): DomainEvent[] {
  const review = state.review;
  if (review?.reason !== 'refund_without_payment') return [fact];
  const cause: Cause = { type: fact.type, occurredAt: fact.data.occurredAt, orderingKey: key };
  const arrival = arrivalOf(state.watermarks[key], fact.data.occurredAt);
  if (arrival === 'newer' && !isSuperseded(state, fact)) {
    const unflagged = lifecycleUnderFlag(state, review.from);
    const paymentKnown = fact.type === 'RefundIssued' && paymentKnownBefore(state, fact);
    const judged = evaluateLifecycle(unflagged, state.subscriptionId, fact, liveSubscriptions(state), paymentKnown);
    if (judged.to === 'needs_review' && judged.reviewReason !== 'refund_without_payment') {
      return [fact, domainEvent('FlaggedForReview', { reason: judged.reviewReason ?? 'manual_review', from: unflagged, cause })];
    }
  }
  if (fact.type !== 'PaymentSucceeded' || fact.data.subscriptionId === undefined) return [fact];
  if (Date.parse(fact.data.occurredAt) >= Date.parse(review.flaggedAt)) return [fact];
  const after = evolve(state, fact);
  if (refundStanding(after) === 'stands') {
    // Refunded since the refund, as in order (the payment only showed the flag was unfounded).
    return [fact, domainEvent('LifecycleChanged', { from: 'needs_review', to: 'refunded', cause: { type: 'RefundIssued', occurredAt: review.flaggedAt } })];
  }
  return [fact, domainEvent('LifecycleChanged', { from: 'needs_review', to: lifecycleUnderFlag(after, 'active'), cause })];
}

// The customer's best live subscription's state; with none live, canceled when every
// subscription known ended, else `otherwise`.
function lifecycleUnderFlag(state: CustomerState, otherwise: LifecycleState): LifecycleState {
  return bestLiveState(state) ?? (Object.keys(state.subscriptions ?? {}).length > 0 ? 'canceled' : otherwise);
}
