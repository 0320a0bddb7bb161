import type { DomainEventOf, FactEvent } from '../contracts/domainEvents.ts';
import type { ReviewReason } from '../contracts/events/decisions.ts';
import type { SubscriptionStatus } from '../contracts/events/vocabulary.ts';

// The lifecycle machine's named guards: pure predicates over the machine context and the event.

export interface LifecycleContext {
  // The subscription the customer last had, to tell a resubscription from a resurrection.
  subscriptionId: string | null;
  // Set by the machine's `flag` action on a transition into needs_review.
  reviewReason: ReviewReason | null;
  // The customer's live subscriptions before the fact, with what each means.
  liveSubscriptions: readonly LiveSubscription[];
  // Whether a subscription payment of this customer is known: a refund of money we never saw
  // paid needs a human, whatever state the customer is in (a paying customer now on a trial of
  // another plan did pay).
  paymentKnown: boolean;
}

export interface LiveSubscription {
  id: string;
  meaning: 'trialing' | 'active' | 'pastDue';
}

export type LifecycleEvent = FactEvent | DomainEventOf<'ManualOverrideApplied'>;

interface GuardArgs {
  context: LifecycleContext;
  event: LifecycleEvent;
}

export function subscriptionIdOf(event: LifecycleEvent): string | undefined {
  switch (event.type) {
    case 'TrialStarted':
    case 'SubscriptionActivated':
    case 'SubscriptionChanged':
    case 'TrialWillEnd':
    case 'SubscriptionCanceled':
    case 'PaymentSucceeded':
    case 'PaymentFailed':
    case 'RefundIssued':
    case 'DisputeOpened':
      return event.data.subscriptionId;
    default:
      return undefined;
  }
}

// What each Stripe status means for the lifecycle; a new status is a compile error here.
type StatusMeaning = 'trialing' | 'active' | 'pastDue' | 'canceled' | 'undecided';
export const STATUS_MEANING: Record<SubscriptionStatus, StatusMeaning> = {
  trialing: 'trialing',
  active: 'active',
  past_due: 'pastDue',
  unpaid: 'pastDue',
  canceled: 'canceled',
  incomplete_expired: 'canceled',
  incomplete: 'undecided',
  // A trial that ended without a payment method (trial_settings.end_behavior = pause): Stripe
  // sends no invoice for it, so no later fact would end the trial. Money is owed, as for past
  // due: the app asks for a card, access lasts the grace period, and a resume (active) or a paid
  // invoice makes the customer active again.
  paused: 'pastDue',
};

const statusMeans =
  (meaning: StatusMeaning) =>
  ({ event }: GuardArgs): boolean =>
    event.type === 'SubscriptionChanged' && STATUS_MEANING[event.data.status] === meaning;

// When a subscription ends, the customer is what their best remaining live subscription makes
// them: active before past due (a paying customer with a payment problem) before a trial.
export const REMAINING_ORDER: readonly LiveSubscription['meaning'][] = ['active', 'pastDue', 'trialing'];
export function bestRemaining(live: readonly LiveSubscription[], endingId: string | undefined): LiveSubscription['meaning'] | null {
  const meanings = new Set(live.filter((s) => s.id !== endingId).map((s) => s.meaning));
  return REMAINING_ORDER.find((meaning) => meanings.has(meaning)) ?? null;
}

const remains =
  (meaning: LiveSubscription['meaning'] | null) =>
  ({ context, event }: GuardArgs): boolean =>
    bestRemaining(context.liveSubscriptions, subscriptionIdOf(event)) === meaning;

const isPayment = (event: LifecycleEvent): event is DomainEventOf<'PaymentSucceeded'> | DomainEventOf<'PaymentFailed'> =>
  event.type === 'PaymentSucceeded' || event.type === 'PaymentFailed';

const isRenewal = (event: LifecycleEvent): boolean => event.type === 'PaymentFailed' && event.data.billingReason === 'subscription_cycle';

export function isFullRefund(refund: { chargeAmountCents: number; refundedAmountCents: number }): boolean {
  return refund.refundedAmountCents >= refund.chargeAmountCents;
}

export const factGuards = {
  isNewSubscription: ({ context, event }: GuardArgs) => {
    const id = subscriptionIdOf(event);
    return id !== undefined && id !== context.subscriptionId;
  },
  isKnownSubscription: ({ context, event }: GuardArgs) => {
    const id = subscriptionIdOf(event);
    return id !== undefined && id === context.subscriptionId;
  },
  // Which live subscription remains when this one ends (none, or the best of the others).
  noLiveRemains: remains(null),
  activeRemains: remains('active'),
  pastDueRemains: remains('pastDue'),
  trialRemains: remains('trialing'),
  isOneOffPayment: ({ event }: GuardArgs) => isPayment(event) && event.data.subscriptionId === undefined,
  isSubscriptionPayment: ({ event }: GuardArgs) => isPayment(event) && event.data.subscriptionId !== undefined,
  // A renewal (Stripe's billing_reason subscription_cycle) only exists for a subscription that
  // has been running, so its failure means past_due even to a customer we know nothing about.
  isRenewal: ({ event }: GuardArgs) => isRenewal(event),
  isNotRenewal: ({ event }: GuardArgs) => !isRenewal(event),
  statusIsTrialing: statusMeans('trialing'),
  statusIsActive: statusMeans('active'),
  statusIsPastDue: statusMeans('pastDue'),
  statusIsCanceled: statusMeans('canceled'),
  statusIsUndecided: statusMeans('undecided'),
  paymentKnown: ({ context }: GuardArgs) => context.paymentKnown,
  noPaymentKnown: ({ context }: GuardArgs) => !context.paymentKnown,
  isFullRefund: ({ event }: GuardArgs) => event.type === 'RefundIssued' && isFullRefund(event.data),
  isPartialRefund: ({ event }: GuardArgs) => event.type === 'RefundIssued' && !isFullRefund(event.data),
} satisfies Record<string, (args: GuardArgs) => boolean>;

export type FactGuardName = keyof typeof factGuards;
