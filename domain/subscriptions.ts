import type { FactEvent } from '../contracts/domainEvents.ts';
import type { LifecycleState, SubscriptionStatus } from '../contracts/events/vocabulary.ts';
import type { CustomerState, SubscriptionSnapshot } from './customerState.ts';
import { bestRemaining, REMAINING_ORDER, STATUS_MEANING, type LiveSubscription } from './factGuards.ts';
import type { Arrival } from './ordering.ts';

// The customer's subscriptions side by side. The lifecycle follows the current one; these
// snapshots say whether another is still live when it ends (an add-on canceled while the main
// plan runs must not cancel the customer, nor take away their access).

// What a fact says about its subscription's status, given what was known of it. A payment
// speaks for the subscription the way the lifecycle table reads it: paid means active, a failed
// renewal means past due, and so does a failed invoice of a subscription that was live (a failed
// first invoice leaves it incomplete: not live).
function statusOf(fact: FactEvent, known: SubscriptionSnapshot | undefined): SubscriptionStatus | undefined {
  switch (fact.type) {
    case 'TrialStarted':
      return 'trialing';
    case 'SubscriptionActivated':
      return 'active';
    case 'SubscriptionChanged':
      return fact.data.status;
    case 'SubscriptionCanceled':
      return 'canceled';
    case 'PaymentSucceeded':
      return known !== undefined && meaningOf(known.status) === 'canceled' ? undefined : 'active';
    case 'PaymentFailed': {
      if (fact.data.billingReason === 'subscription_cycle') return known !== undefined && meaningOf(known.status) === 'canceled' ? undefined : 'past_due';
      const meaning = known === undefined ? undefined : meaningOf(known.status);
      return meaning === 'trialing' || meaning === 'active' ? 'past_due' : undefined;
    }
    default:
      return undefined;
  }
}

// Same-instant snapshots of one subscription keep the one furthest along its life, so the
// arrival order of a same-second "active" and "canceled" cannot change what is recorded.
const RANK: Record<ReturnType<typeof meaningOf>, number> = { undecided: 0, trialing: 1, active: 2, pastDue: 3, canceled: 4 };
const meaningOf = (status: SubscriptionStatus) => STATUS_MEANING[status];

// Called for every fact that is not stale for its ordering key (the subscription's), superseded
// or not: the snapshot is always the subscription's newest word.
export function trackSubscription(state: CustomerState, fact: FactEvent, arrival: Arrival): CustomerState {
  if (!('subscriptionId' in fact.data) || fact.data.subscriptionId === undefined) return state;
  const id = fact.data.subscriptionId;
  const known = state.subscriptions?.[id];
  const status = statusOf(fact, known);
  if (status === undefined) return state;
  if (known !== undefined && arrival === 'tie' && RANK[meaningOf(known.status)] > RANK[meaningOf(status)]) return state;
  const terms = 'plan' in fact.data ? fact.data : undefined;
  const occurredAt = fact.data.occurredAt;
  const snapshot: SubscriptionSnapshot = {
    status,
    plan: terms?.plan ?? known?.plan ?? null,
    mrrCents: (terms && 'mrrCents' in terms ? terms.mrrCents : undefined) ?? known?.mrrCents ?? null,
    currency: (terms && 'currency' in terms ? terms.currency : undefined) ?? known?.currency ?? null,
    since: known === undefined || Date.parse(occurredAt) < Date.parse(known.since) ? occurredAt : known.since,
  };
  return { ...state, subscriptions: { ...state.subscriptions, [id]: snapshot } };
}

const isLiveMeaning = (meaning: ReturnType<typeof meaningOf>): meaning is LiveSubscription['meaning'] =>
  meaning === 'trialing' || meaning === 'active' || meaning === 'pastDue';

// The live subscriptions (trialing, active, past due), as the lifecycle guards see them.
export function liveSubscriptions(state: Pick<CustomerState, 'subscriptions'>): LiveSubscription[] {
  return Object.entries(state.subscriptions ?? {}).flatMap(([id, snapshot]) => {
    const meaning = meaningOf(snapshot.status);
    return isLiveMeaning(meaning) ? [{ id, meaning }] : [];
  });
}

const STATE_OF: Record<LiveSubscription['meaning'], LifecycleState> = { active: 'active', pastDue: 'past_due', trialing: 'trial' };

// What the customer's best live subscription makes them (REMAINING_ORDER); null when none is live.
export function bestLiveState(state: Pick<CustomerState, 'subscriptions'>): LifecycleState | null {
  const best = bestRemaining(liveSubscriptions(state), undefined);
  return best === null ? null : STATE_OF[best];
}

// The current subscription ended: another live one, if any, becomes current, with its terms.
// In the order the lifecycle judges them (factGuards.ts, REMAINING_ORDER), then the newest.
export function handOverToLive(state: CustomerState): CustomerState {
  const snapshots = state.subscriptions ?? {};
  const [next] = liveSubscriptions(state)
    .filter((live) => live.id !== state.subscriptionId)
    .sort(
      (a, b) =>
        REMAINING_ORDER.indexOf(a.meaning) - REMAINING_ORDER.indexOf(b.meaning) ||
        Date.parse(snapshots[b.id]!.since) - Date.parse(snapshots[a.id]!.since) ||
        a.id.localeCompare(b.id),
    );
  if (next === undefined) return state;
  const snapshot = snapshots[next.id]!;
  return {
    ...state,
    subscriptionId: next.id,
    subscriptionSince: snapshot.since,
    subscriptionStatus: snapshot.status,
    plan: snapshot.plan,
    mrrCents: snapshot.mrrCents,
    currency: snapshot.currency,
    trialEndsAt: null,
  };
}
