import type { FactEvent } from '../contracts/domainEvents.ts';
import type { CustomerState } from './customerState.ts';
import { isFullRefund } from './factGuards.ts';

// When a full refund makes a customer refunded, whatever order the facts arrive in. In source-time
// order the table reads it so: a full refund of a paying customer makes them refunded, and only
// new money (a subscription payment) or a new subscription moves them on. Judged fact by fact as
// they arrive, that depends on arrival order: Stripe's charge.refunded names a charge, not the
// subscription, so a late invoice.paid older than the refund (often of the same second as the
// subscription's creation, and so not stale for it) took a refunded customer back to active, and
// a late refund older than a renewal that paid made a paying customer refunded.
//
// So the newest full refund stands while no subscription payment is newer and no subscription
// began after it: the newest times of each are kept whatever order they arrive in (evolve, for
// stale facts too). At the same instant the refund wins, as it does in the tie rule (PRECEDENCE).
// With no payment known it stands too: the table made a subscriber refunded (their first
// invoice is late) and a late word of a subscription older than the refund must not undo that;
// a lead's or a trial's is flagged for a human instead (the table), and the flag is withdrawn
// when the payment it refunds arrives (provisionalFlags.ts).

export type RefundStanding = 'none' | 'stands' | 'overtaken';

export function refundStanding(state: CustomerState): RefundStanding {
  const refundAt = fullRefundAtOf(state);
  if (refundAt === null) return 'none';
  const refunded = Date.parse(refundAt);
  const paidAt = paidAtOf(state);
  if (paidAt !== null && Date.parse(paidAt) > refunded) return 'overtaken';
  for (const snapshot of Object.values(state.subscriptions ?? {})) if (Date.parse(snapshot.since) > refunded) return 'overtaken';
  return 'stands';
}

// What a standing refund decides about a billing fact: the customer is refunded whatever a fact
// older than the refund (a late invoice.paid) or a same-instant sibling said, and a refund that
// newer money overtook moves nothing when it arrives; undefined leaves the fact to the table.
// A human who moved the customer after the refund (an override: its time is when it was made)
// is not overruled; a fact that moved them after it (a renewal that failed) is, as in order.
export function underRefund(before: CustomerState, after: CustomerState, fact: FactEvent): 'refunded' | 'nothing' | undefined {
  const standing = refundStanding(after);
  if (standing === 'overtaken') return fact.type === 'RefundIssued' ? 'nothing' : undefined;
  if (standing === 'none') return undefined;
  if (before.lifecycle === 'refunded') return 'nothing';
  const refundAt = fullRefundAtOf(after);
  const humanAt = before.overriddenAt !== undefined ? before.overriddenAt : before.since;
  return humanAt !== null && refundAt !== null && Date.parse(humanAt) > Date.parse(refundAt) ? undefined : 'refunded';
}

// The newest successful subscription payment's source time; a basis stored before `paidAt` has
// its last payment.
export function paidAtOf(state: CustomerState): string | null {
  return state.paidAt !== undefined ? state.paidAt : state.lastPayment?.outcome === 'succeeded' ? state.lastPayment.occurredAt : null;
}

// Most customers were never refunded: their facts need not be folded to ask.
export function mayBeRefunded(state: CustomerState, fact: FactEvent): boolean {
  return fullRefundAtOf(state) !== null || (fact.type === 'RefundIssued' && isFullRefund(fact.data));
}

export const fullRefundAtOf = (state: CustomerState): string | null =>
  state.fullRefundAt !== undefined ? state.fullRefundAt : state.lastRefund?.full === true ? state.lastRefund.occurredAt : null;

// Whether the customer is known to have paid, not counting a payment of the fact's own instant:
// like the rest of an instant's facts, a refund is judged from before it, so that a same-second
// payment and refund end alike in either arrival order. The newest payment alone does not say:
// when it is of the refund's instant, an older one still is money known before it. A one-off
// payment (an add-on invoice, a Checkout purchase) is money seen paid too: its refund is not
// `refund_without_payment`.
export function paymentKnownBefore(state: CustomerState, fact: FactEvent): boolean {
  const instant = Date.parse(fact.data.occurredAt);
  return [paidAtOf(state), firstSubscriptionPaidAtOf(state), firstPaidAtOf(state)].some((at) => at !== null && Date.parse(at) !== instant);
}

// Whether a payment is known before a refund or a dispute (the table's paymentKnown guard).
// A dispute names a charge that was paid: any successful payment older than it, a one-off
// included, is known money; one of its own instant is not (judged from before the instant).
export function paymentKnownFor(state: CustomerState, fact: FactEvent): boolean {
  if (fact.type === 'RefundIssued') return paymentKnownBefore(state, fact);
  if (fact.type !== 'DisputeOpened') return false;
  const first = firstPaidAtOf(state);
  return first !== null && Date.parse(first) < Date.parse(fact.data.occurredAt);
}

// The earliest successful payment of any kind; a basis stored before `firstPaidAt` has its newest.
export const firstPaidAtOf = (state: CustomerState): string | null => (state.firstPaidAt !== undefined ? state.firstPaidAt : paidAtOf(state));

// The earliest successful subscription payment; a basis stored before it has its newest.
const firstSubscriptionPaidAtOf = (state: CustomerState): string | null =>
  state.firstSubscriptionPaidAt !== undefined ? state.firstSubscriptionPaidAt : paidAtOf(state);

// The newest and the earliest successful subscription payment and the newest full refund, by
// source time, and the earliest payment of any kind. A one-off payment is not what ends a refund
// (the table: it grants no lifecycle state), but it is money a dispute can be about.
export function withMoneyTimes(state: CustomerState, fact: FactEvent): CustomerState {
  if (fact.type === 'PaymentSucceeded') {
    const firstPaidAt = earliest(fact.data.occurredAt, firstPaidAtOf(state));
    const counted = firstPaidAt === state.firstPaidAt ? state : { ...state, firstPaidAt };
    if (fact.data.subscriptionId === undefined) return counted;
    const paidAt = newest(fact.data.occurredAt, paidAtOf(state));
    const firstSubscriptionPaidAt = earliest(fact.data.occurredAt, firstSubscriptionPaidAtOf(state));
    return paidAt === counted.paidAt && firstSubscriptionPaidAt === counted.firstSubscriptionPaidAt ? counted : { ...counted, paidAt, firstSubscriptionPaidAt };
  }
  if (fact.type === 'RefundIssued' && isFullRefund(fact.data)) {
    const fullRefundAt = newest(fact.data.occurredAt, fullRefundAtOf(state));
    return fullRefundAt === state.fullRefundAt ? state : { ...state, fullRefundAt };
  }
  return state;
}

const newest = (occurredAt: string, than: string | null) => (than === null || Date.parse(occurredAt) > Date.parse(than) ? occurredAt : than);
const earliest = (occurredAt: string, than: string | null) => (than === null || Date.parse(occurredAt) < Date.parse(than) ? occurredAt : than);
