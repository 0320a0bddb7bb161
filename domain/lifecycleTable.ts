import type { ReviewReason } from '../contracts/events/decisions.ts';
import type { FactType, LifecycleState } from '../contracts/events/vocabulary.ts';
import type { FactGuardName } from './factGuards.ts';

// THE lifecycle rules, as data: every fact case x every state has one explicit outcome. The
// XState machine (lifecycleMachine.ts) is generated from this table and the unit tests iterate
// it, so the rules, the machine and the tests cannot drift apart.

// needs_review is not in a row: there, every fact is recorded with no transition, and only a
// manual override leaves it.
export type ReviewableState = Exclude<LifecycleState, 'needs_review'>;

export type Outcome =
  | { kind: 'stay' }
  | { kind: 'to'; to: ReviewableState }
  | { kind: 'flag'; reason: ReviewReason };

const stay: Outcome = { kind: 'stay' };
const to = (state: ReviewableState): Outcome => ({ kind: 'to', to: state });
const flag = (reason: ReviewReason): Outcome => ({ kind: 'flag', reason });
const never: Row = { lead: stay, trial: stay, active: stay, past_due: stay, canceled: stay, refunded: stay };

type Row = Record<ReviewableState, Outcome>;

const REMAINS_ACTIVE: Row = { lead: to('active'), trial: to('active'), active: stay, past_due: to('active'), canceled: to('active'), refunded: stay };
const REMAINS_PAST_DUE: Row = { lead: to('past_due'), trial: to('past_due'), active: to('past_due'), past_due: stay, canceled: to('past_due'), refunded: stay };
const REMAINS_TRIAL: Row = { lead: to('trial'), trial: stay, active: to('trial'), past_due: to('trial'), canceled: to('trial'), refunded: stay };

// A fact case is a fact type narrowed by named guards (all must hold). The cases of one type
// are mutually exclusive and together cover every fact of that type (tested).
export interface FactCase {
  type: FactType;
  guards: readonly FactGuardName[];
}

export const FACT_CASES = {
  LeadCaptured: { type: 'LeadCaptured', guards: [] },
  'TrialStarted.newSubscription': { type: 'TrialStarted', guards: ['isNewSubscription'] },
  'TrialStarted.knownSubscription': { type: 'TrialStarted', guards: ['isKnownSubscription'] },
  'SubscriptionActivated.newSubscription': { type: 'SubscriptionActivated', guards: ['isNewSubscription'] },
  'SubscriptionActivated.knownSubscription': { type: 'SubscriptionActivated', guards: ['isKnownSubscription'] },
  'SubscriptionChanged.trialing.newSubscription': { type: 'SubscriptionChanged', guards: ['statusIsTrialing', 'isNewSubscription'] },
  'SubscriptionChanged.trialing.knownSubscription': { type: 'SubscriptionChanged', guards: ['statusIsTrialing', 'isKnownSubscription'] },
  'SubscriptionChanged.active.newSubscription': { type: 'SubscriptionChanged', guards: ['statusIsActive', 'isNewSubscription'] },
  'SubscriptionChanged.active.knownSubscription': { type: 'SubscriptionChanged', guards: ['statusIsActive', 'isKnownSubscription'] },
  'SubscriptionChanged.pastDue.newSubscription': { type: 'SubscriptionChanged', guards: ['statusIsPastDue', 'isNewSubscription'] },
  'SubscriptionChanged.pastDue.knownSubscription': { type: 'SubscriptionChanged', guards: ['statusIsPastDue', 'isKnownSubscription'] },
  'SubscriptionChanged.canceled.noLiveRemains': { type: 'SubscriptionChanged', guards: ['statusIsCanceled', 'noLiveRemains'] },
  'SubscriptionChanged.canceled.activeRemains': { type: 'SubscriptionChanged', guards: ['statusIsCanceled', 'activeRemains'] },
  'SubscriptionChanged.canceled.pastDueRemains': { type: 'SubscriptionChanged', guards: ['statusIsCanceled', 'pastDueRemains'] },
  'SubscriptionChanged.canceled.trialRemains': { type: 'SubscriptionChanged', guards: ['statusIsCanceled', 'trialRemains'] },
  'SubscriptionChanged.other': { type: 'SubscriptionChanged', guards: ['statusIsUndecided'] },
  TrialWillEnd: { type: 'TrialWillEnd', guards: [] },
  'PaymentSucceeded.newSubscription': { type: 'PaymentSucceeded', guards: ['isNewSubscription'] },
  'PaymentSucceeded.knownSubscription': { type: 'PaymentSucceeded', guards: ['isKnownSubscription'] },
  'PaymentSucceeded.oneOff': { type: 'PaymentSucceeded', guards: ['isOneOffPayment'] },
  'PaymentFailed.subscription': { type: 'PaymentFailed', guards: ['isSubscriptionPayment', 'isNotRenewal'] },
  'PaymentFailed.renewal.newSubscription': { type: 'PaymentFailed', guards: ['isSubscriptionPayment', 'isRenewal', 'isNewSubscription'] },
  'PaymentFailed.renewal.knownSubscription': { type: 'PaymentFailed', guards: ['isSubscriptionPayment', 'isRenewal', 'isKnownSubscription'] },
  'PaymentFailed.oneOff': { type: 'PaymentFailed', guards: ['isOneOffPayment'] },
  'SubscriptionCanceled.noLiveRemains': { type: 'SubscriptionCanceled', guards: ['noLiveRemains'] },
  'SubscriptionCanceled.activeRemains': { type: 'SubscriptionCanceled', guards: ['activeRemains'] },
  'SubscriptionCanceled.pastDueRemains': { type: 'SubscriptionCanceled', guards: ['pastDueRemains'] },
  'SubscriptionCanceled.trialRemains': { type: 'SubscriptionCanceled', guards: ['trialRemains'] },
  'RefundIssued.full.paymentKnown': { type: 'RefundIssued', guards: ['isFullRefund', 'paymentKnown'] },
  'RefundIssued.full.noPaymentKnown': { type: 'RefundIssued', guards: ['isFullRefund', 'noPaymentKnown'] },
  'RefundIssued.partial.paymentKnown': { type: 'RefundIssued', guards: ['isPartialRefund', 'paymentKnown'] },
  'RefundIssued.partial.noPaymentKnown': { type: 'RefundIssued', guards: ['isPartialRefund', 'noPaymentKnown'] },
  'DisputeOpened.paymentKnown': { type: 'DisputeOpened', guards: ['paymentKnown'] },
  'DisputeOpened.noPaymentKnown': { type: 'DisputeOpened', guards: ['noPaymentKnown'] },
  TicketOpened: { type: 'TicketOpened', guards: [] },
  TicketUpdated: { type: 'TicketUpdated', guards: [] },
  TicketClosed: { type: 'TicketClosed', guards: [] },
  IdentityLinked: { type: 'IdentityLinked', guards: [] },
  IdentityUnlinked: { type: 'IdentityUnlinked', guards: [] },
  CustomerProfileUpdated: { type: 'CustomerProfileUpdated', guards: [] },
  CrmPropertyChanged: { type: 'CrmPropertyChanged', guards: [] },
  // Deleting the Stripe customer cancels its subscriptions, and those cancellations arrive as
  // their own facts: the deletion itself decides nothing.
  CustomerDeleted: { type: 'CustomerDeleted', guards: [] },
} as const satisfies Record<string, FactCase>;
export type FactCaseName = keyof typeof FACT_CASES;

// "new subscription" = a subscription id other than the one the customer last had: after a
// cancellation that is a resubscription, while the same id coming back to life is impossible.
// A refunded customer's own subscription reporting "active" again does not restore access
// (that is the "refunded customer keeps access" bug); new money or a new subscription does.
export const LIFECYCLE_TABLE: Record<FactCaseName, Row> = {
  LeadCaptured: never,
  'TrialStarted.newSubscription': { lead: to('trial'), trial: stay, active: stay, past_due: stay, canceled: to('trial'), refunded: to('trial') },
  'TrialStarted.knownSubscription': { lead: to('trial'), trial: stay, active: stay, past_due: stay, canceled: flag('canceled_subscription_resumed'), refunded: stay },
  'SubscriptionActivated.newSubscription': { lead: to('active'), trial: to('active'), active: stay, past_due: to('active'), canceled: to('active'), refunded: to('active') },
  'SubscriptionActivated.knownSubscription': { lead: to('active'), trial: to('active'), active: stay, past_due: to('active'), canceled: flag('canceled_subscription_resumed'), refunded: stay },
  'SubscriptionChanged.trialing.newSubscription': { lead: to('trial'), trial: stay, active: stay, past_due: stay, canceled: to('trial'), refunded: to('trial') },
  'SubscriptionChanged.trialing.knownSubscription': { lead: to('trial'), trial: stay, active: stay, past_due: stay, canceled: flag('canceled_subscription_resumed'), refunded: stay },
  'SubscriptionChanged.active.newSubscription': { lead: to('active'), trial: to('active'), active: stay, past_due: to('active'), canceled: to('active'), refunded: to('active') },
  'SubscriptionChanged.active.knownSubscription': { lead: to('active'), trial: to('active'), active: stay, past_due: to('active'), canceled: flag('canceled_subscription_resumed'), refunded: stay },
  'SubscriptionChanged.pastDue.knownSubscription': { lead: to('past_due'), trial: to('past_due'), active: to('past_due'), past_due: stay, canceled: stay, refunded: stay },
  // Another subscription than the current one is running, unpaid: a canceled customer still
  // holds it, as a canceled customer paying a new subscription is active again. An active one
  // is still paying for the current one (an add-on going unpaid is not the customer's dunning).
  'SubscriptionChanged.pastDue.newSubscription': { lead: to('past_due'), trial: to('past_due'), active: stay, past_due: stay, canceled: to('past_due'), refunded: stay },
  // The end of the last live subscription (current or not): nothing is left, so canceled. While
  // another is live, the rows below apply instead.
  'SubscriptionChanged.canceled.noLiveRemains': { lead: to('canceled'), trial: to('canceled'), active: to('canceled'), past_due: to('canceled'), canceled: stay, refunded: stay },
  // A subscription ends while another (an add-on, a second plan, the new half of an upgrade) is
  // live: the customer is what the best remaining one makes them (evolve makes it current).
  // Not a cancellation, and not a loss of access. A canceled customer still holding a live one
  // (its word came first, out of order) is what it makes them; refunded stays.
  'SubscriptionChanged.canceled.activeRemains': REMAINS_ACTIVE,
  'SubscriptionChanged.canceled.pastDueRemains': REMAINS_PAST_DUE,
  'SubscriptionChanged.canceled.trialRemains': REMAINS_TRIAL,
  // incomplete (first payment pending) says nothing new about the customer: the invoice facts
  // around it do. (paused is past due: factGuards.ts.)
  'SubscriptionChanged.other': never,
  // Stripe sends it only for a trialing subscription (three days ahead, or at once for a
  // shorter trial), so a lead it reaches first is on a trial: its TrialStarted, older, would
  // then arrive stale and move nothing. Elsewhere it is a reminder, not a transition.
  TrialWillEnd: { lead: to('trial'), trial: stay, active: stay, past_due: stay, canceled: stay, refunded: stay },
  'PaymentSucceeded.newSubscription': { lead: to('active'), trial: to('active'), active: stay, past_due: to('active'), canceled: to('active'), refunded: to('active') },
  'PaymentSucceeded.knownSubscription': { lead: to('active'), trial: to('active'), active: stay, past_due: to('active'), canceled: flag('payment_after_cancel'), refunded: to('active') },
  // A one-off charge is money in, not a subscription: it grants no lifecycle state.
  'PaymentSucceeded.oneOff': never,
  // A lead's failed first invoice leaves the subscription `incomplete`: not yet a customer.
  'PaymentFailed.subscription': { lead: stay, trial: to('past_due'), active: to('past_due'), past_due: stay, canceled: stay, refunded: stay },
  // The first word on this customer may be a renewal that failed (the earlier facts are late):
  // a lead whose subscription renews was paying, so past_due, as in-order delivery would end.
  'PaymentFailed.renewal.knownSubscription': { lead: to('past_due'), trial: to('past_due'), active: to('past_due'), past_due: stay, canceled: stay, refunded: stay },
  // As SubscriptionChanged.pastDue.newSubscription: another subscription is running, unpaid.
  'PaymentFailed.renewal.newSubscription': { lead: to('past_due'), trial: to('past_due'), active: stay, past_due: stay, canceled: to('past_due'), refunded: stay },
  // A declined add-on or one-off invoice: the subscription (if any) is untouched.
  'PaymentFailed.oneOff': never,
  // A cancellation ends a subscription's life whatever came before it, so it decides the same
  // from a lead: when `customer.subscription.deleted` overtakes the subscription's earlier
  // events (which then arrive stale), that lead did have the subscription. With `lead: stay`
  // the final state would depend on delivery order. The end of the last live subscription,
  // current or not (the old half of an upgrade whose new half has ended too), cancels.
  'SubscriptionCanceled.noLiveRemains': { lead: to('canceled'), trial: to('canceled'), active: to('canceled'), past_due: to('canceled'), canceled: stay, refunded: stay },
  // As for SubscriptionChanged.canceled.*Remains above.
  'SubscriptionCanceled.activeRemains': REMAINS_ACTIVE,
  'SubscriptionCanceled.pastDueRemains': REMAINS_PAST_DUE,
  'SubscriptionCanceled.trialRemains': REMAINS_TRIAL,
  // A full refund of a customer we saw pay: refunded, from a trial too (their paid plan ended,
  // another is on trial). It stands until newer money or a newer subscription, whatever order
  // the facts arrive in (domain/refunds.ts).
  'RefundIssued.full.paymentKnown': { lead: to('refunded'), trial: to('refunded'), active: to('refunded'), past_due: to('refunded'), canceled: to('refunded'), refunded: stay },
  // No payment known: a lead's or a trial's refund is money we never saw paid (a human looks:
  // a missed delivery, or the wrong customer); a subscriber's is the subscription's first charge
  // whose invoice is late.
  'RefundIssued.full.noPaymentKnown': { lead: flag('refund_without_payment'), trial: flag('refund_without_payment'), active: to('refunded'), past_due: to('refunded'), canceled: to('refunded'), refunded: stay },
  'RefundIssued.partial.paymentKnown': never,
  'RefundIssued.partial.noPaymentKnown': { lead: flag('refund_without_payment'), trial: flag('refund_without_payment'), active: stay, past_due: stay, canceled: stay, refunded: stay },
  // A dispute always needs a human (evidence is due within days), even after a refund. Which
  // question depends on the money, not the state the customer was in when it arrived: a payment
  // older than the dispute known (refunds.ts, paymentKnownFor) or not (money the ledger never
  // saw paid; the flag becomes dispute_opened when that payment arrives, provisionalFlags.ts).
  'DisputeOpened.paymentKnown': { lead: flag('dispute_opened'), trial: flag('dispute_opened'), active: flag('dispute_opened'), past_due: flag('dispute_opened'), canceled: flag('dispute_opened'), refunded: flag('dispute_opened') },
  'DisputeOpened.noPaymentKnown': {
    lead: flag('dispute_without_payment'),
    trial: flag('dispute_without_payment'),
    active: flag('dispute_without_payment'),
    past_due: flag('dispute_without_payment'),
    canceled: flag('dispute_without_payment'),
    refunded: flag('dispute_without_payment'),
  },
  TicketOpened: never,
  TicketUpdated: never,
  TicketClosed: never,
  IdentityLinked: never,
  IdentityUnlinked: never,
  CustomerProfileUpdated: never,
  CrmPropertyChanged: never,
  CustomerDeleted: never,
};

// Tie-break for same-second facts on one object (domain/ordering.ts): the outcome with the
// higher precedence wins. The order follows a subscription's life and, at the end, what costs
// money or needs a human, so a same-second "paid" never outvotes "refunded" or a flag.
export const PRECEDENCE: Record<LifecycleState, number> = {
  lead: 0,
  trial: 1,
  active: 2,
  past_due: 3,
  canceled: 4,
  refunded: 5,
  needs_review: 6,
};
