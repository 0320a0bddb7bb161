import type { FactEvent } from '../contracts/domainEvents.ts';
import type { LifecycleState, SubscriptionStatus } from '../contracts/events/vocabulary.ts';
import type { Plan } from '../contracts/events/common.ts';
import type { CustomerState, SubscriptionSnapshot } from './customerState.ts';
import { bestRemaining, REMAINING_ORDER, STATUS_MEANING, type LiveSubscription } from './factGuards.ts';
import type { Arrival } from './ordering.ts';

// The customer's subscriptions side by side, each the newest word on it: which are live, and so
// which one is current and what the customer is while they hold several (an add-on canceled or
// going unpaid while the main plan runs must not cancel the customer, nor take away access).

// What a fact says about its subscription's status, given what was known of it. A payment
// speaks for the subscription the way the lifecycle table reads it: paid means active, a failed
// renewal means past due, and so does a failed invoice of a subscription that was live (a failed
// first invoice leaves it incomplete: not live).
function statusOf(fact: FactEvent, known: SubscriptionSnapshot | undefined): SubscriptionStatus | undefined {
  switch (fact.type) {
    case 'TrialStarted':
      return 'trialing';
    // Stripe sends it only while the subscription is trialing (when a trial is ended at once, in
    // the same second as the update that ends it, which the tie rule keeps).
    case 'TrialWillEnd':
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

// Same-instant statuses of one subscription keep the one furthest along its life, so the
// arrival order of a same-second "active" and "canceled" cannot change what is recorded.
const RANK: Record<ReturnType<typeof meaningOf>, number> = { undecided: 0, trialing: 1, active: 2, pastDue: 3, canceled: 4 };
const meaningOf = (status: SubscriptionStatus) => STATUS_MEANING[status];

// Called for every fact, stale for its ordering key or not, superseded or not. Each part of a
// snapshot is the subscription's newest word on it: its status (at the same instant the one
// furthest along its life), each term, and its start (the earliest). So a status-less newer fact
// (a trial reminder) does not hide an older fact's status, and the arrival order does not
// decide what is recorded.
export function trackSubscription(state: CustomerState, fact: FactEvent, arrival: Arrival): CustomerState {
  if (!('subscriptionId' in fact.data) || fact.data.subscriptionId === undefined) return state;
  const id = fact.data.subscriptionId;
  const occurredAt = fact.data.occurredAt;
  const known = state.subscriptions?.[id];
  const status = statusOf(fact, known);
  if (known === undefined) {
    if (status === undefined) return state;
    const fresh: SubscriptionSnapshot = {
      status,
      statusAt: occurredAt,
      statusFromPayment: isPayment(fact),
      plan: null,
      mrrCents: null,
      currency: null,
      trialEndsAt: null,
      since: occurredAt,
      termsAt: {},
    };
    return withSnapshot(state, id, noteWord(fresh, fact));
  }
  // A snapshot stored before `statusAt` existed is as new as its ordering key's watermark.
  const order = known.statusAt === undefined ? (arrival === 'newer' ? 1 : arrival === 'tie' ? 0 : -1) : Date.parse(occurredAt) - Date.parse(known.statusAt);
  const newer = status !== undefined && (order > 0 || (order === 0 && RANK[meaningOf(status)] >= RANK[meaningOf(known.status)]) || endsPaidStatus(known, status));
  return withSnapshot(state, id, noteWord(newer ? statusFrom(known, status, fact, order === 0) : known, fact));
}

const isPayment = (fact: FactEvent): boolean => fact.type === 'PaymentSucceeded' || fact.type === 'PaymentFailed';

// The new status, and whether only a payment's outcome implied it (the subscription did not say
// it at that instant), whichever of the instant's words arrived first.
function statusFrom(known: SubscriptionSnapshot, status: SubscriptionStatus, fact: FactEvent, sameInstant: boolean): SubscriptionSnapshot {
  const alsoSaid = sameInstant && known.status === status && known.statusFromPayment !== true;
  return { ...known, status, statusAt: fact.data.occurredAt, statusFromPayment: isPayment(fact) && !alsoSaid };
}

// A cancellation ends a subscription for good: a payment after it (a final invoice, an open one
// paid late, paid or failed) does not make it live again (statusOf). Delivered before the
// cancellation, that payment's "active" or "past due" came first; the older cancellation still
// ends it, as in order.
function endsPaidStatus(known: SubscriptionSnapshot, status: SubscriptionStatus): boolean {
  if (meaningOf(status) !== 'canceled' || meaningOf(known.status) === 'canceled') return false;
  if (known.statusFromPayment !== undefined) return known.statusFromPayment;
  // Snapshots stored before statusFromPayment: a status taken from a payment has its time.
  return known.paidAt !== undefined && known.paidAt === known.statusAt;
}

// The time of a payment made for a subscription after it ended while no other subscription was
// live (what the table flags as payment_after_cancel), if the snapshots show one.
export function unheldPaymentAt(state: Pick<CustomerState, 'subscriptions'>): string | undefined {
  for (const [id, snapshot] of Object.entries(state.subscriptions ?? {})) {
    const { paidAt, statusAt } = snapshot;
    if (meaningOf(snapshot.status) !== 'canceled' || paidAt === undefined || statusAt === undefined) continue;
    if (Date.parse(paidAt) > Date.parse(statusAt) && !otherLiveAt(state, paidAt, id)) return paidAt;
  }
  return undefined;
}

// Whether a subscription other than `exceptId` was live at `at`: begun by then and live now, or
// ended after it (a canceled snapshot's status time is its end).
export function otherLiveAt(state: Pick<CustomerState, 'subscriptions'>, at: string, exceptId: string | undefined): boolean {
  const time = Date.parse(at);
  return Object.entries(state.subscriptions ?? {}).some(([id, snapshot]) => {
    if (id === exceptId || Date.parse(snapshot.since) > time) return false;
    const meaning = meaningOf(snapshot.status);
    if (isLiveMeaning(meaning)) return true;
    return meaning === 'canceled' && snapshot.statusAt !== undefined && Date.parse(snapshot.statusAt) > time;
  });
}

const withSnapshot = (state: CustomerState, id: string, snapshot: SubscriptionSnapshot): CustomerState =>
  state.subscriptions?.[id] === snapshot ? state : { ...state, subscriptions: { ...state.subscriptions, [id]: snapshot } };

type Term = 'plan' | 'mrrCents' | 'currency' | 'trialEndsAt';
const TERMS: readonly Term[] = ['plan', 'mrrCents', 'currency', 'trialEndsAt'];

// Each term from the newest fact that states it (whatever order they arrive in); at the same
// instant the greater value, so that two same-second words cannot leave it to arrival order.
// Snapshots stored before `termsAt` existed count their terms as of `since`.
function noteWord(snapshot: SubscriptionSnapshot, fact: FactEvent): SubscriptionSnapshot {
  const occurredAt = fact.data.occurredAt;
  const since = Date.parse(occurredAt) < Date.parse(snapshot.since) ? occurredAt : snapshot.since;
  let next = since === snapshot.since ? snapshot : { ...snapshot, since };
  if (fact.type === 'PaymentSucceeded' && (next.paidAt === undefined || Date.parse(occurredAt) > Date.parse(next.paidAt))) next = { ...next, paidAt: occurredAt };
  for (const term of TERMS) {
    const stated = termOf(fact, term);
    if (stated === undefined) continue;
    const at = snapshot.termsAt?.[term] ?? (snapshot[term] === null || snapshot[term] === undefined ? undefined : snapshot.since);
    const difference = at === undefined ? 1 : Date.parse(occurredAt) - Date.parse(at);
    if (difference < 0 || (difference === 0 && JSON.stringify(stated) <= JSON.stringify(snapshot[term]))) continue;
    next = { ...next, [term]: stated, termsAt: { ...next.termsAt, [term]: occurredAt } };
  }
  // In one key order, so that the same snapshot serialises the same whatever the arrival order.
  const termsAt = next.termsAt;
  if (termsAt === snapshot.termsAt || termsAt === undefined) return next;
  return { ...next, termsAt: Object.fromEntries(TERMS.flatMap((term) => (termsAt[term] === undefined ? [] : [[term, termsAt[term]]]))) };
}

function termOf(fact: FactEvent, term: Term): Plan | number | string | undefined {
  switch (fact.type) {
    case 'TrialStarted':
    case 'SubscriptionChanged':
      return fact.data[term] ?? undefined;
    case 'SubscriptionActivated':
    case 'PaymentSucceeded':
      return term === 'trialEndsAt' ? undefined : (fact.data[term] ?? undefined);
    case 'TrialWillEnd':
      return term === 'trialEndsAt' ? fact.data.trialEndsAt : undefined;
    default:
      return undefined;
  }
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

// The subscription the customer's state comes from: the best live one (REMAINING_ORDER, then the
// newest, then by id); with none live, the one whose last word is newest (then by id); with no
// snapshots (a basis stored before them), whatever the state says.
export function currentSubscriptionOf(state: Pick<CustomerState, 'subscriptions' | 'subscriptionId' | 'watermarks'>): string | null {
  const snapshots = state.subscriptions ?? {};
  const ids = Object.keys(snapshots);
  if (ids.length === 0) return state.subscriptionId;
  const live = liveSubscriptions(state);
  if (live.length > 0) {
    return live.sort(
      (a, b) =>
        REMAINING_ORDER.indexOf(a.meaning) - REMAINING_ORDER.indexOf(b.meaning) ||
        Date.parse(snapshots[b.id]!.since) - Date.parse(snapshots[a.id]!.since) ||
        a.id.localeCompare(b.id),
    )[0]!.id;
  }
  const lastWord = (id: string) => Date.parse(state.watermarks[`subscription:${id}`]?.occurredAt ?? snapshots[id]!.since);
  return ids.sort((a, b) => lastWord(b) - lastWord(a) || a.localeCompare(b))[0]!;
}
