import { domainEvent, type DomainEvent, type FactEvent } from '../contracts/domainEvents.ts';
import type { Cause } from '../contracts/events/decisions.ts';
import type { LifecycleState } from '../contracts/events/vocabulary.ts';
import { evolve, type CustomerState } from './customerState.ts';
import { STATUS_MEANING, subscriptionIdOf } from './factGuards.ts';
import { fullRefundAtOf } from './refunds.ts';
import { bestLiveState, liveSubscriptions, otherLiveAt, unheldPaymentAt } from './subscriptions.ts';

// Money for a subscription after it ended (a final invoice, an open invoice paid late) needs a
// human when nothing else was live then (payment_after_cancel, lifecycleTable.ts). Whether that
// was so depends on when each subscription began and ended, not on the order their words
// arrive in: these rules judge it from the subscriptions' snapshots, whichever arrives last.

// A payment for a subscription known to have ended before it is not a resubscription, whatever
// subscription the customer is on now: in order it changed nothing while another subscription
// was live, and needed a human otherwise, whatever came after. Money after a refund is left to
// the refund rules (refunds.ts).
export function paymentAfterEnd(fact: FactEvent, state: CustomerState, key: string): DomainEvent[] | undefined {
  if (fact.type !== 'PaymentSucceeded' || fact.data.subscriptionId === undefined || refundedBefore(state, fact.data.occurredAt)) return undefined;
  const snapshot = state.subscriptions?.[fact.data.subscriptionId];
  if (snapshot === undefined || STATUS_MEANING[snapshot.status] !== 'canceled' || snapshot.statusAt === undefined) return undefined;
  if (Date.parse(snapshot.statusAt) >= Date.parse(fact.data.occurredAt)) return undefined;
  if (otherLiveAt(state, fact.data.occurredAt, fact.data.subscriptionId)) return [fact];
  const cause: Cause = { type: fact.type, occurredAt: fact.data.occurredAt, orderingKey: key };
  return [fact, domainEvent('FlaggedForReview', { reason: 'payment_after_cancel', from: state.lifecycle, cause })];
}

// A cancellation older than a payment of its subscription that was delivered first (a final
// invoice, an open invoice paid late) is stale for its ordering key, so the table judges nothing,
// but it still ends the subscription (subscriptions.ts). In order the customer was what the
// cancellation left them, and the payment after it changed nothing while another subscription
// was live, or needed a human (payment_after_cancel). A refunded customer stays refunded unless
// that payment came before the refund (then the flag came first, in order).
export function staleCancellation(fact: FactEvent, state: CustomerState, key: string): DomainEvent[] | undefined {
  const subscriptionId = subscriptionIdOf(fact);
  if (subscriptionId === undefined || !endsSubscription(fact)) return undefined;
  if (!liveSubscriptions(state).some((live) => live.id === subscriptionId)) return endsLeadsSubscription(fact, state, key);
  const after = evolve(state, fact);
  if (liveSubscriptions(after).some((live) => live.id === subscriptionId)) return undefined;
  const remaining = bestLiveState(after) ?? 'canceled';
  const flagged = unheldPaymentFlag(fact, state, after, remaining);
  if (flagged !== undefined) return flagged;
  if (state.lifecycle === 'refunded') return undefined;
  const cause: Cause = { type: fact.type, occurredAt: fact.data.occurredAt, orderingKey: key };
  return remaining === state.lifecycle ? [fact] : [fact, domainEvent('LifecycleChanged', { from: state.lifecycle, to: remaining, cause })];
}

// A lead with nothing live whose cancellation arrives stale (a declined final invoice, newer,
// came first, and the table leaves a lead a lead on a failed payment, as for a first invoice):
// the cancellation shows the lead had the subscription, and in order it canceled them, as the
// table does for a lead whose cancellation arrives first.
function endsLeadsSubscription(fact: FactEvent, state: CustomerState, key: string): DomainEvent[] | undefined {
  if (state.lifecycle !== 'lead' || liveSubscriptions(state).length > 0) return undefined;
  return [fact, domainEvent('LifecycleChanged', { from: 'lead', to: 'canceled', cause: { type: fact.type, occurredAt: fact.data.occurredAt, orderingKey: key } })];
}

// The end of a subscription shows that a payment for another, already ended one was made while
// nothing else was live (that other subscription looked live when the payment arrived): in order
// a human looked.
export function endRevealsUnheldPayment(fact: FactEvent, state: CustomerState): DomainEvent[] | undefined {
  if (!endsSubscription(fact)) return undefined;
  const after = evolve(state, fact);
  // Flagged from what the end left the customer, as the payment after it found them in order.
  return unheldPaymentFlag(fact, state, after, bestLiveState(after) ?? 'canceled');
}

// Flagged as of the payment, as in order: a subscription found live then withdraws it.
function unheldPaymentFlag(fact: FactEvent, before: CustomerState, after: CustomerState, from: LifecycleState): DomainEvent[] | undefined {
  if (unheldPaymentAt(before) !== undefined) return undefined;
  const paidAt = unheldPaymentAt(after);
  if (paidAt === undefined || refundedBefore(before, paidAt)) return undefined;
  return [fact, domainEvent('FlaggedForReview', { reason: 'payment_after_cancel', from, cause: { type: 'PaymentSucceeded', occurredAt: paidAt } })];
}

// A refunded customer whose refund came before `at`: in order the money at `at` met a refunded
// customer, which the refund rules judge (refunds.ts); money before the refund met whatever the
// customer was then, and a flag raised then stayed with the refund recorded under it.
const refundedBefore = (state: CustomerState, at: string): boolean => {
  const refundAt = fullRefundAtOf(state);
  return state.lifecycle === 'refunded' && (refundAt === null || Date.parse(refundAt) <= Date.parse(at));
};

const endsSubscription = (fact: FactEvent): boolean =>
  fact.type === 'SubscriptionCanceled' || (fact.type === 'SubscriptionChanged' && STATUS_MEANING[fact.data.status] === 'canceled');

