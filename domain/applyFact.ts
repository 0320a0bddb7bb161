import type { DomainEventOf, FactEvent } from '../contracts/domainEvents.ts';
import type { SubscriptionStatus } from '../contracts/events/vocabulary.ts';
import type { CustomerState } from './customerState.ts';
import { isFullRefund, STATUS_MEANING } from './factGuards.ts';
import { withProfileFact } from './profileFields.ts';

// What a (non-stale) fact changes in the customer's cached read data. The lifecycle itself is
// never touched here: only the decisions appended after a fact move it.

type SubscriptionFact = DomainEventOf<'TrialStarted'> | DomainEventOf<'SubscriptionActivated'> | DomainEventOf<'SubscriptionChanged'>;
type PaymentFact = DomainEventOf<'PaymentSucceeded'> | DomainEventOf<'PaymentFailed'>;

export function applyFact(state: CustomerState, fact: FactEvent): CustomerState {
  switch (fact.type) {
    case 'TrialStarted':
      return applySubscription(state, fact, 'trialing');
    case 'SubscriptionActivated':
      return applySubscription(state, fact, 'active');
    case 'SubscriptionChanged':
      // The old subscription of an upgrade reporting its end: the live one stays current, with
      // its plan and MRR (SubscriptionCanceled of another subscription is ignored the same way).
      if (STATUS_MEANING[fact.data.status] === 'canceled' && isOtherThanLiveSubscription(state, fact.data.subscriptionId)) return state;
      // Its end hands over to another live subscription in evolve (customerState.ts).
      return applySubscription(state, fact, fact.data.status);
    case 'TrialWillEnd': {
      const { subscriptionId, trialEndsAt } = fact.data;
      if (subscriptionId === state.subscriptionId) return { ...state, trialEndsAt };
      // It overtook its subscription's created event: what it says is that the trial runs.
      return state.subscriptionId === null ? { ...state, ...current(state, subscriptionId, fact.data.occurredAt), subscriptionStatus: 'trialing', trialEndsAt } : state;
    }
    case 'SubscriptionCanceled': {
      // A cancellation that overtook its subscription's earlier events still names it, so the
      // customer is not left with no subscription at all.
      const ours = state.subscriptionId === null || fact.data.subscriptionId === state.subscriptionId;
      // The end of the current subscription while another is live: that one carries on (evolve
      // makes the best live subscription current, customerState.ts).
      return ours ? { ...state, ...current(state, fact.data.subscriptionId, fact.data.occurredAt), subscriptionStatus: 'canceled' } : state;
    }
    case 'PaymentSucceeded':
    case 'PaymentFailed':
      return applyPayment(state, fact);
    case 'RefundIssued': {
      const { chargeId, refundedAmountCents, chargeAmountCents, currency, occurredAt } = fact.data;
      return { ...state, lastRefund: { chargeId, refundedAmountCents, chargeAmountCents, currency, full: isFullRefund(fact.data), occurredAt } };
    }
    case 'DisputeOpened':
      // Carried by the lifecycle decision (always a review) and the event itself.
      return state;
    case 'LeadCaptured':
    case 'CustomerProfileUpdated':
      return withProfileFact(state, fact);
    case 'CrmPropertyChanged':
      return { ...state, crmProperties: { ...state.crmProperties, [fact.data.property]: fact.data.value } };
    case 'IdentityLinked': {
      const { kind, externalId } = fact.data;
      const known = state.identities.some((identity) => identity.kind === kind && identity.externalId === externalId);
      return known ? state : { ...state, identities: [...state.identities, { kind, externalId }] };
    }
    case 'IdentityUnlinked': {
      const { kind, externalId } = fact.data;
      return { ...state, identities: state.identities.filter((identity) => identity.kind !== kind || identity.externalId !== externalId) };
    }
    case 'TicketOpened':
    case 'TicketUpdated': {
      const status = fact.data.status;
      if (status === undefined) return state;
      return status === 'solved' || status === 'closed' ? withoutTicket(state, fact.data.ticketId) : withTicket(state, fact.data.ticketId);
    }
    case 'TicketClosed':
      return withoutTicket(state, fact.data.ticketId);
    case 'CustomerDeleted':
      return state.deletedIn.includes(fact.data.deletedIn) ? state : { ...state, deletedIn: [...state.deletedIn, fact.data.deletedIn] };
    default: {
      const unhandled: never = fact;
      throw new Error(`applyFact: unhandled fact ${JSON.stringify(unhandled)}`);
    }
  }
}

// `subscriptionId` becomes (or stays) the current subscription, seen at `occurredAt`.
function current(state: CustomerState, subscriptionId: string, occurredAt: string): Pick<CustomerState, 'subscriptionId' | 'subscriptionSince'> {
  const since = state.subscriptionSince;
  if (subscriptionId !== state.subscriptionId || since === null || since === undefined) return { subscriptionId, subscriptionSince: occurredAt };
  return { subscriptionId, subscriptionSince: Date.parse(occurredAt) < Date.parse(since) ? occurredAt : since };
}

function isOtherThanLiveSubscription(state: CustomerState, subscriptionId: string): boolean {
  if (state.subscriptionId === null || state.subscriptionId === subscriptionId || state.subscriptionStatus === null) return false;
  const meaning = STATUS_MEANING[state.subscriptionStatus];
  return meaning === 'trialing' || meaning === 'active' || meaning === 'pastDue';
}

function applySubscription(state: CustomerState, fact: SubscriptionFact, status: SubscriptionStatus): CustomerState {
  const { subscriptionId, plan, mrrCents, currency } = fact.data;
  const sameSubscription = subscriptionId === state.subscriptionId;
  const trialEndsAt = 'trialEndsAt' in fact.data ? fact.data.trialEndsAt : undefined;
  return {
    ...state,
    ...current(state, subscriptionId, fact.data.occurredAt),
    subscriptionStatus: status,
    plan,
    // A snapshot without an amount keeps what we knew about the same subscription.
    mrrCents: mrrCents ?? (sameSubscription ? state.mrrCents : null),
    currency: currency ?? (sameSubscription ? state.currency : null),
    trialEndsAt: trialEndsAt ?? (sameSubscription ? state.trialEndsAt : null),
  };
}

function applyPayment(state: CustomerState, fact: PaymentFact): CustomerState {
  const { occurredAt, currency, subscriptionId } = fact.data;
  const next = withLastPayment(state, fact);
  if (fact.type !== 'PaymentSucceeded' || subscriptionId === undefined) return next;
  const { plan, mrrCents } = fact.data;
  // A paid invoice is the first word on a subscription when its created event is late.
  const sameSubscription = subscriptionId === state.subscriptionId;
  return {
    ...next,
    ...current(state, subscriptionId, occurredAt),
    plan: plan ?? (sameSubscription ? state.plan : null),
    mrrCents: mrrCents ?? (sameSubscription ? state.mrrCents : null),
    currency: sameSubscription ? (state.currency ?? currency) : currency,
  };
}

// The newest payment by source time, whatever order they arrive in: called for stale facts too
// (a payment older than its subscription's newest word is still the customer's last payment
// when nothing newer was paid). Payments of the same instant: the greater of the two, so that
// arrival order cannot choose (a failure and the retry that paid it: succeeded).
export function withLastPayment(state: CustomerState, fact: FactEvent): CustomerState {
  if (fact.type !== 'PaymentSucceeded' && fact.type !== 'PaymentFailed') return state;
  const { occurredAt, amountCents, currency, invoiceId } = fact.data;
  const payment = { outcome: fact.type === 'PaymentSucceeded' ? ('succeeded' as const) : ('failed' as const), amountCents, currency, occurredAt, invoiceId: invoiceId ?? null };
  const last = state.lastPayment;
  if (last !== null) {
    const difference = Date.parse(occurredAt) - Date.parse(last.occurredAt);
    if (difference < 0 || (difference === 0 && paymentRank(payment) <= paymentRank(last))) return state;
  }
  return { ...state, lastPayment: payment };
}

const paymentRank = (payment: NonNullable<CustomerState['lastPayment']>) =>
  `${payment.outcome}|${payment.invoiceId ?? ''}|${String(payment.amountCents).padStart(15, '0')}|${payment.currency}`;

function withTicket(state: CustomerState, ticketId: string): CustomerState {
  return state.openTicketIds.includes(ticketId) ? state : { ...state, openTicketIds: [...state.openTicketIds, ticketId] };
}

function withoutTicket(state: CustomerState, ticketId: string): CustomerState {
  return state.openTicketIds.includes(ticketId) ? { ...state, openTicketIds: state.openTicketIds.filter((id) => id !== ticketId) } : state;
}
