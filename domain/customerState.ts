import type { DomainEvent, FactEvent } from '../contracts/domainEvents.ts';
import type { Plan } from '../contracts/events/common.ts';
import type { AmbiguousIdentity, Cause, ReviewReason } from '../contracts/events/decisions.ts';
import type { IdentityKind, LifecycleState, SubscriptionStatus } from '../contracts/events/vocabulary.ts';
import { applyFact, withLastPayment } from './applyFact.ts';
import { withProfileFact } from './profileFields.ts';
import { withMoneyTimes } from './refunds.ts';
import { subscriptionIdOf } from './factGuards.ts';
import { currentSubscriptionOf, trackSubscription } from './subscriptions.ts';
import { arrivalOf, isSuperseded, LIFECYCLE_FACTS, orderingKey, sourceOrderKey, type Watermark } from './ordering.ts';

// A customer as the decider sees it, rebuilt by folding its stream with `evolve`. It also
// carries what read APIs and projections need cheaply, so they never refold a stream. Plain
// JSON (no Map, no Date) so it can be snapshotted and compared.

export interface CustomerState {
  lifecycle: LifecycleState;
  // Source time of the fact (or override) that moved the customer into `lifecycle`.
  since: string | null;
  // identity: for ambiguous_identity, the other customer and what the two share, so a reviewer
  // reading the customer sees both without reading the stream.
  review: { reason: ReviewReason; from: LifecycleState; flaggedAt: string; identity?: AmbiguousIdentity } | null;
  // The current subscription: the best live one, else the one that spoke last (`subscriptions`,
  // currentSubscriptionOf), with its status, terms and start below.
  subscriptionId: string | null;
  subscriptionStatus: SubscriptionStatus | null;
  // The earliest source time seen for the current subscription: facts of a subscription that
  // began before it are superseded history (ordering.ts). Optional: bases stored before it.
  subscriptionSince?: string | null;
  plan: Plan | null;
  // The subscription's own MRR; it stays known after a cancellation, so read models decide
  // whether it counts (e.g. only while active or past_due).
  mrrCents: number | null;
  currency: string | null;
  trialEndsAt: string | null;
  lastPayment: {
    outcome: 'succeeded' | 'failed';
    amountCents: number;
    currency: string;
    occurredAt: string;
    invoiceId: string | null;
  } | null;
  // Source times of the newest successful subscription payment and of the newest full refund,
  // whatever order they arrive in: a full refund stands until newer money or a newer subscription
  // (domain/refunds.ts). Optional: bases stored before them fall back to lastPayment/lastRefund.
  paidAt?: string | null;
  fullRefundAt?: string | null;
  // The source time of the earliest successful payment of any kind: a dispute older than it is
  // about money the ledger never saw paid (refunds.ts). Optional: bases stored before it use paidAt.
  firstPaidAt?: string | null;
  // The source time of the earliest successful subscription payment: with `paidAt`, whether one
  // was paid before a refund of `paidAt`'s own second (refunds.ts). Optional: bases stored before
  // it know the newest only.
  firstSubscriptionPaidAt?: string | null;
  // When a human last set the customer's state (a manual override, timed when it was made): a
  // standing refund does not overrule a human who moved the customer after it. Optional: bases
  // stored before it count any move after the refund as a human's (refunds.ts).
  overriddenAt?: string | null;
  lastRefund: {
    chargeId: string;
    refundedAmountCents: number;
    chargeAmountCents: number;
    currency: string;
    full: boolean;
    occurredAt: string;
  } | null;
  profile: { email: string | null; firstName: string | null; lastName: string | null; phone: string | null };
  // The source time of each profile value (profileFields.ts). Optional: bases stored before it
  // date every value by the profile's watermark.
  profileAt?: Partial<Record<'email' | 'firstName' | 'lastName' | 'phone', string>>;
  crmProperties: Record<string, string | null>;
  identities: Array<{ kind: IdentityKind; externalId: string }>;
  openTicketIds: string[];
  // Systems that deleted their record of this customer; the ledger keeps the history.
  deletedIn: IdentityKind[];
  // Per ordering key (see ordering.ts): the newest applied instant and what it decided.
  watermarks: Record<string, Watermark>;
  // The source-order key (ordering.ts) of the newest fact that can move the lifecycle: one that
  // sorts before it arrived out of order (domain/sinceInOrder.ts). Optional: bases stored
  // before it compare times only.
  lifecycleFactsThrough?: string | null;
  // Whether such a fact ever arrived after one that sorts after it. Until all of a customer's
  // facts are in, the arrival order can leave them elsewhere than source-time order would, and a
  // newer fact's move can then date the state wrongly too: from then on every move is checked
  // (domain/sinceInOrder.ts). Optional: bases stored before it never say so.
  arrivedOutOfOrder?: boolean;
  // Every subscription seen, by id: its last known status and terms. A customer can hold several
  // at once (a main plan and an add-on): the end of one is not the end of the customer while
  // another is live. Recorded even from superseded history, so that what is live does not depend
  // on arrival order. Optional: read-model bases stored before it lack it.
  subscriptions?: Record<string, SubscriptionSnapshot>;
  // E-mails (`email:<id>`) already flagged as shared with another customer, so that a human's
  // answer is not asked for again. Optional: read-model bases stored before it lack it.
  sharedIdentitiesFlagged?: string[];
}

export interface SubscriptionSnapshot {
  status: SubscriptionStatus;
  plan: Plan | null;
  mrrCents: number | null;
  currency: string | null;
  // The source time of the word its status is from. Optional: snapshots stored before it lack it.
  statusAt?: string;
  // The earliest source time seen for it, stale facts included.
  since: string;
  // When its trial ends, if a fact said. Optional: snapshots stored before it lack it.
  trialEndsAt?: string | null;
  // The source time of the fact each term was taken from: the newest that stated it.
  // Optional: snapshots stored before it lack it.
  termsAt?: { plan?: string; mrrCents?: string; currency?: string; trialEndsAt?: string };
  // The newest successful payment of this subscription: a status taken from it (statusAt equal)
  // yields to an older cancellation (subscriptions.ts). Optional: snapshots stored before it.
  paidAt?: string;
  // Whether `status` was implied by a payment's outcome (a paid invoice: active; a failed one:
  // past due) rather than said by the subscription: such a status yields to an older
  // cancellation, which in order came first and left nothing for the payment to imply.
  // Optional: snapshots stored before it lack it.
  statusFromPayment?: boolean;
}

export const initialState: CustomerState = {
  lifecycle: 'lead',
  since: null,
  review: null,
  subscriptionId: null,
  subscriptionStatus: null,
  subscriptionSince: null,
  plan: null,
  mrrCents: null,
  currency: null,
  trialEndsAt: null,
  lastPayment: null,
  paidAt: null,
  fullRefundAt: null,
  firstPaidAt: null,
  firstSubscriptionPaidAt: null,
  overriddenAt: null,
  lastRefund: null,
  profile: { email: null, firstName: null, lastName: null, phone: null },
  crmProperties: {},
  identities: [],
  openTicketIds: [],
  deletedIn: [],
  watermarks: {},
  lifecycleFactsThrough: null,
  subscriptions: {},
  sharedIdentitiesFlagged: [],
};

// Replays what was decided then; it never re-runs the rules, so a rule change cannot rewrite
// history (replay-and-compare is done by running `decide` again, on purpose).
export function evolve(state: CustomerState, event: DomainEvent): CustomerState {
  switch (event.type) {
    case 'LifecycleChanged':
      return {
        ...markWinner(state, event.data.cause, event.data.to),
        lifecycle: event.data.to,
        since: event.data.cause.occurredAt,
        review: event.data.to === 'needs_review' ? state.review : null,
      };
    case 'FlaggedForReview': {
      const { identity } = event.data;
      return {
        ...markWinner(state, event.data.cause, 'needs_review'),
        lifecycle: 'needs_review',
        since: event.data.cause.occurredAt,
        review: { reason: event.data.reason, from: event.data.from, flaggedAt: event.data.cause.occurredAt, ...(identity ? { identity } : {}) },
        ...(identity
          ? { sharedIdentitiesFlagged: [...(state.sharedIdentitiesFlagged ?? []), `${identity.matchedBy.kind}:${identity.matchedBy.externalId}`] }
          : {}),
      };
    }
    case 'ReviewResolved':
      return { ...state, review: null };
    case 'LifecycleRedated': {
      const { reviewFrom } = event.data;
      const review = reviewFrom !== undefined && state.review !== null ? { ...state.review, from: reviewFrom } : state.review;
      return { ...state, since: event.data.cause.occurredAt, review };
    }
    case 'ManualOverrideApplied':
      // The audit record; the LifecycleChanged appended with it carries the change.
      return { ...state, overriddenAt: event.data.occurredAt };
    default:
      return withLifecycleFactsThrough(evolveFact(state, event), event);
  }
}

function withLifecycleFactsThrough(state: CustomerState, fact: FactEvent): CustomerState {
  if (!LIFECYCLE_FACTS.has(fact.type)) return state;
  const key = sourceOrderKey(fact);
  const through = state.lifecycleFactsThrough;
  // A base stored before it keeps comparing times (a key taken from here on would not be the newest).
  if (through === undefined) return state;
  if (through === null || through < key) return { ...state, lifecycleFactsThrough: key };
  return through === key || state.arrivedOutOfOrder === true ? state : { ...state, arrivedOutOfOrder: true };
}

function evolveFact(state: CustomerState, fact: FactEvent): CustomerState {
  const key = orderingKey(fact);
  const watermark = state.watermarks[key];
  const arrival = arrivalOf(watermark, fact.data.occurredAt);
  // A stale fact stays in the stream for the record but must not overwrite newer data; it may
  // only fill in what its subscription's newer words left unsaid.
  if (arrival === 'stale') {
    // A profile field no newer fact spoke of is still filled (profileFields.ts).
    const filled = fact.type === 'LeadCaptured' || fact.type === 'CustomerProfileUpdated' ? withProfileFact(state, fact) : state;
    return withCurrentTerms(withMoneyTimes(withLastPayment(trackSubscription(filled, fact, arrival), fact), fact), fact);
  }
  const withWatermark =
    arrival === 'newer'
      ? {
          ...state,
          watermarks: {
            ...state.watermarks,
            [key]: {
              occurredAt: fact.data.occurredAt,
              base: { lifecycle: state.lifecycle, subscriptionId: state.subscriptionId },
              winner: null,
            },
          },
        }
      : state;
  const tracked = withMoneyTimes(trackSubscription(withWatermark, fact, arrival), fact);
  // Recorded and watermarked; an older subscription's history is not applied as the current one's
  // (its snapshot above may still make it current, and a payment still counts as the last one).
  if (isSuperseded(state, fact)) return withCurrentTerms(withLastPayment(tracked, fact), fact);
  return withCurrentTerms(applyFact(tracked, fact), fact);
}

// Which subscription is current, and its status, terms and start, follow from the snapshots,
// which do not depend on the order facts arrived in (subscriptions.ts); only a fact about a
// subscription changes them. A current subscription that ended hands over to the best live one
// here too.
function withCurrentTerms(state: CustomerState, fact: FactEvent): CustomerState {
  if (subscriptionIdOf(fact) === undefined) return state;
  const id = currentSubscriptionOf(state);
  const snapshot = id === null ? undefined : state.subscriptions?.[id];
  if (id === null || snapshot === undefined) return state;
  const { status, plan, mrrCents, currency, since } = snapshot;
  // A snapshot stored before trialEndsAt: the trial end stays with the subscription it was said of.
  const trialEndsAt = snapshot.trialEndsAt !== undefined ? snapshot.trialEndsAt : id === state.subscriptionId ? state.trialEndsAt : null;
  if (
    state.subscriptionId === id &&
    state.subscriptionStatus === status &&
    state.plan === plan &&
    state.mrrCents === mrrCents &&
    state.currency === currency &&
    state.trialEndsAt === trialEndsAt &&
    state.subscriptionSince === since
  ) {
    return state;
  }
  return { ...state, subscriptionId: id, subscriptionStatus: status, plan, mrrCents, currency, trialEndsAt, subscriptionSince: since };
}

function markWinner(state: CustomerState, cause: Cause, winner: LifecycleState): CustomerState {
  const key = cause.orderingKey;
  const watermark = key === undefined ? undefined : state.watermarks[key];
  if (key === undefined || watermark === undefined || arrivalOf(watermark, cause.occurredAt) !== 'tie') return state;
  return { ...state, watermarks: { ...state.watermarks, [key]: { ...watermark, winner } } };
}
