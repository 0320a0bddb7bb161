import { domainEvent, type DomainEvent, type FactEvent } from '../contracts/domainEvents.ts';
import type { Cause } from '../contracts/events/decisions.ts';
import type { LifecycleState } from '../contracts/events/vocabulary.ts';
import { evolve, type CustomerState } from './customerState.ts';
import { STATUS_MEANING } from './factGuards.ts';
import { evaluateLifecycle } from './lifecycleMachine.ts';
import { arrivalOf, isSuperseded } from './ordering.ts';
import { paymentAfterEnd } from './paymentAfterCancel.ts';
import { fullRefundAtOf, paymentKnownFor, refundStanding } from './refunds.ts';
import { bestLiveState, liveSubscriptions, otherLiveAt } from './subscriptions.ts';

// Two flags can be the arrival order's rather than the money's, and are withdrawn when the facts
// that arrive later show it; every other flag waits for a human.
// - refund_without_payment: a refund with no payment known flags a lead or a trial (money we
//   never saw paid), but the payment it refunds can arrive after it. A payment (a one-off too)
//   older than the refund withdraws it: in source-time order the customer paid, then was
//   refunded, so they go where in-order delivery leaves them: refunded while a full refund
//   stands (since the refund), else (newer money or a newer subscription overtook it, or the
//   refund was partial) what their best live subscription makes them. Stale payments count
//   too. A payment newer than the refund, or of its own second, leaves the flag: in order it
//   came after the flag too, or is judged with the refund from before them (refunds.ts).
// - payment_after_cancel: money for a subscription that had ended while nothing else was live.
//   Another subscription's words can arrive later and show it was live when the payment was
//   made: then in order the payment changed nothing, and the flag is withdrawn to what the
//   customer's subscriptions make them.
// Under either, facts are still judged from where the customer would be without it: one that
// needs a human for its own reason (a dispute, a payment after a cancellation) replaces the
// flag, as in order. Facts of an instant already seen are not judged again here (their
// instant's base is the review), nor stale or superseded ones (but a dispute, which is news
// however late): they decide nothing in order either.
// And one flag asks the wrong question until the money arrives: dispute_without_payment (a
// dispute with no payment older than it known) becomes dispute_opened when such a payment
// arrives; a human looks either way (disputedMoneyArrived).
const PROVISIONAL = new Set(['refund_without_payment', 'payment_after_cancel']);

export function underProvisionalFlag(fact: FactEvent, state: CustomerState, key: string): DomainEvent[] {
  const review = state.review;
  if (review?.reason === 'dispute_without_payment') return disputedMoneyArrived(fact, state, review);
  if (review === null || !PROVISIONAL.has(review.reason)) return [fact];
  const cause: Cause = { type: fact.type, occurredAt: fact.data.occurredAt, orderingKey: key };
  const arrival = arrivalOf(state.watermarks[key], fact.data.occurredAt);
  // A dispute is news however late (customerCommands.ts): it replaces the flag as in order.
  if (arrival === 'newer' || fact.type === 'DisputeOpened') {
    const unflagged = lifecycleUnderFlag(state, review.from, fact.data.occurredAt);
    // Money after its subscription's end, judged by when each subscription was live (before the
    // superseded rule, as outside a review).
    const afterEnd = review.reason === 'payment_after_cancel' ? undefined : paymentAfterEnd(fact, { ...state, lifecycle: unflagged, review: null }, key);
    if (afterEnd !== undefined && afterEnd.length > 1) return [fact, domainEvent('FlaggedForReview', { reason: 'payment_after_cancel', from: unflagged, cause })];
    if (afterEnd === undefined && !isSuperseded(state, fact)) {
      const paymentKnown = paymentKnownFor(state, fact);
      const judged = evaluateLifecycle(unflagged, state.subscriptionId, fact, liveSubscriptions(state), paymentKnown);
      if (judged.to === 'needs_review' && judged.reviewReason !== review.reason && judged.reviewReason !== 'refund_without_payment') {
        return [fact, domainEvent('FlaggedForReview', { reason: judged.reviewReason ?? 'manual_review', from: unflagged, cause })];
      }
    }
  }
  if (review.reason === 'payment_after_cancel') {
    const after = evolve(state, fact);
    if (!otherLiveAt(after, review.flaggedAt, flaggedPaymentsSubscription(after, review.flaggedAt))) return [fact];
    return [fact, domainEvent('LifecycleChanged', { from: 'needs_review', to: lifecycleUnderFlag(after, review.from), cause })];
  }
  if (fact.type !== 'PaymentSucceeded') return [fact];
  if (Date.parse(fact.data.occurredAt) >= Date.parse(review.flaggedAt)) return [fact];
  const after = evolve(state, fact);
  if (refundStanding(after) === 'stands') {
    // Refunded since the refund, as in order (the payment only showed the flag was unfounded).
    return [fact, domainEvent('LifecycleChanged', { from: 'needs_review', to: 'refunded', cause: { type: 'RefundIssued', occurredAt: review.flaggedAt } })];
  }
  // A one-off payment grants no state (the table): without a live subscription the customer is
  // where the flag found them.
  const otherwise = fact.data.subscriptionId === undefined ? review.from : 'active';
  return [fact, domainEvent('LifecycleChanged', { from: 'needs_review', to: lifecycleUnderFlag(after, otherwise), cause })];
}

// A dispute flagged as about money the ledger never saw paid stays a dispute (a human looks
// either way), but a payment older than it that arrives later shows which question it is: in
// source-time order the customer paid, then disputed (dispute_opened), from where their
// subscriptions left them.
function disputedMoneyArrived(fact: FactEvent, state: CustomerState, review: NonNullable<CustomerState['review']>): DomainEvent[] {
  if (fact.type !== 'PaymentSucceeded' || Date.parse(fact.data.occurredAt) >= Date.parse(review.flaggedAt)) return [fact];
  const from = lifecycleUnderFlag(evolve(state, fact), review.from, review.flaggedAt);
  return [fact, domainEvent('FlaggedForReview', { reason: 'dispute_opened', from, cause: { type: 'DisputeOpened', occurredAt: review.flaggedAt } })];
}

// Refunded while a full refund stands (as of `at`, for a fact of that time: one older than the
// refund met the customer before it); else the customer's best live subscription's state; with
// none live, canceled when every subscription known ended, else `otherwise`.
function lifecycleUnderFlag(state: CustomerState, otherwise: LifecycleState, at?: string): LifecycleState {
  const refundAt = fullRefundAtOf(state);
  if (refundStanding(state) === 'stands' && (at === undefined || (refundAt !== null && Date.parse(refundAt) <= Date.parse(at)))) return 'refunded';
  return bestLiveState(state) ?? (Object.keys(state.subscriptions ?? {}).length > 0 ? 'canceled' : otherwise);
}

// The subscription the flagged payment was for (flagged as of that payment), which does not count
// as another one live then: one paid at that time after its end, else any paid at that time.
function flaggedPaymentsSubscription(state: CustomerState, paidAt: string): string | undefined {
  const paid = Object.entries(state.subscriptions ?? {}).filter(([, snapshot]) => snapshot.paidAt === paidAt);
  const afterEnd = paid.find(([, { status, statusAt }]) => STATUS_MEANING[status] === 'canceled' && statusAt !== undefined && Date.parse(statusAt) < Date.parse(paidAt));
  return (afterEnd ?? paid[0])?.[0];
}
