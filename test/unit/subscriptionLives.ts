import type { FactEvent } from '../../contracts/domainEvents.ts';
import type { LifecycleState } from '../../contracts/events/vocabulary.ts';
import type { CustomerState } from '../../domain/customerState.ts';
import { facts, permutations, recordFact, run } from './lifecycleFixtures.ts';

// Valid Stripe lives of two subscriptions one customer holds side by side, generated from a
// seed (the same seed, the same lives): each a trial or a paid start, maybe a conversion, maybe
// a failed renewal with or without recovery, maybe a cancellation; the second starting up to
// four seconds after the first. Shared by the arrival-order tests and the wider net of
// `npx tsx scripts/subscriptionLives.ts`.

type Meaning = 'trialing' | 'active' | 'pastDue' | 'canceled';

export interface TwoSubscriptionLife {
  // Both subscriptions' facts, in source-time order.
  inOrder: FactEvent[];
  // What the customer should end as: their best subscription's final status (active, else
  // past due, else trial), canceled when neither is live.
  expected: LifecycleState;
}

export function seededRandom(seed: number): () => number {
  let next = seed;
  return () => (next = (next * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

function life(id: string, start: number, random: () => number): { events: FactEvent[]; end: Meaning } {
  const chance = (p: number) => random() < p;
  const events: FactEvent[] = [];
  let t = start;
  let end: Meaning;
  if (chance(0.4)) {
    events.push(facts.trialStarted(t, id));
    end = 'trialing';
    if (chance(0.6)) {
      t += 1 + Math.floor(random() * 2);
      events.push(facts.subscriptionChanged(t, 'active', id), facts.paymentSucceeded(t, id));
      end = 'active';
    }
  } else {
    events.push(facts.subscriptionActivated(t, id), facts.paymentSucceeded(t, id));
    end = 'active';
  }
  if (end === 'active' && chance(0.4)) {
    t += 1 + Math.floor(random() * 2);
    events.push(facts.renewalFailed(t, id), facts.subscriptionChanged(t, 'past_due', id));
    end = 'pastDue';
    if (chance(0.4)) {
      t += 1;
      events.push(facts.paymentSucceeded(t, id), facts.subscriptionChanged(t, 'active', id));
      end = 'active';
    }
  }
  if (chance(0.5)) {
    t += 1 + Math.floor(random() * 2);
    events.push(facts.subscriptionCanceled(t, id));
    end = 'canceled';
  }
  return { events, end };
}

const best = (ends: Meaning[]): LifecycleState =>
  ends.includes('active') ? 'active' : ends.includes('pastDue') ? 'past_due' : ends.includes('trialing') ? 'trial' : 'canceled';

export function twoSubscriptionLife(random: () => number): TwoSubscriptionLife {
  const a = life('sub_a', 1, random);
  const b = life('sub_b', 1 + Math.floor(random() * 5), random);
  const inOrder = [...a.events, ...b.events].sort((x, y) => Date.parse(x.data.occurredAt) - Date.parse(y.data.occurredAt));
  return { inOrder, expected: best([a.end, b.end]) };
}

export interface RefundedLife {
  inOrder: FactEvent[];
  // Refunded, unless a subscription still running was paid again after the refund.
  expected: LifecycleState;
}

// A generated life with a full refund of one of the first subscription's paid invoices, in the
// second of the life's last fact or the next (and after the payment); sometimes the first
// subscription canceled with it, sometimes a running subscription renewed and paid after it (new
// money). Null when the first subscription never paid.
export function withFullRefund(history: readonly FactEvent[], random: () => number): RefundedLife | null {
  const paid = history.filter((fact) => fact.type === 'PaymentSucceeded' && fact.data.subscriptionId === 'sub_a');
  const refunded = paid[Math.floor(random() * paid.length)];
  if (refunded?.type !== 'PaymentSucceeded' || refunded.data.invoiceId === undefined) return null;
  const second = (fact: FactEvent) => new Date(fact.data.occurredAt).getUTCSeconds();
  // After the payment it refunds, as a refund is.
  const at = Math.max(Math.max(...history.map(second)) + (random() < 0.5 ? 0 : 1), second(refunded) + 1);
  const refund = facts.chargeRefunded(at, refunded.data.invoiceId);
  const extra: FactEvent[] = [refund];
  if (random() < 0.3) extra.push(facts.subscriptionCanceled(at, 'sub_a'));
  const canceled = (id: string) => [...history, ...extra].some((fact) => fact.type === 'SubscriptionCanceled' && fact.data.subscriptionId === id);
  const held = (id: string) => history.some((fact) => 'subscriptionId' in fact.data && fact.data.subscriptionId === id);
  const running = ['sub_a', 'sub_b'].filter((id) => held(id) && !canceled(id));
  const renewed = running.length > 0 && random() < 0.3 ? running[Math.floor(random() * running.length)] : undefined;
  if (renewed !== undefined) extra.push(facts.paymentSucceeded(at + 1 + Math.floor(random() * 2), renewed));
  const inOrder = [...history, ...extra].sort((x, y) => Date.parse(x.data.occurredAt) - Date.parse(y.data.occurredAt));
  return { inOrder, expected: renewed === undefined ? 'refunded' : 'active' };
}

// What every arrival order of `history` ends in, each outcome with the first order that ended there.
export function outcomesOfEveryOrder(history: readonly FactEvent[], outcomeOf: (order: readonly FactEvent[]) => string): Map<string, string> {
  const outcomes = new Map<string, string>();
  for (const order of permutations(history)) {
    const outcome = outcomeOf(order);
    if (!outcomes.has(outcome)) outcomes.set(outcome, describeFacts(order));
  }
  return outcomes;
}

// Random arrival orders of `history` that end elsewhere than in-order delivery, each with where it
// ended and the order.
export function ordersEndingElsewhere(history: readonly FactEvent[], outcomeOf: (order: readonly FactEvent[]) => string, random: () => number, orders = 20): string[] {
  const expected = outcomeOf(history);
  const elsewhere: string[] = [];
  for (let n = 0; n < orders; n += 1) {
    const order = shuffled(history, random);
    const outcome = outcomeOf(order);
    if (outcome !== expected) elsewhere.push(`${outcome}, in order ${expected}: ${describeFacts(order)}`);
  }
  return elsewhere;
}

// Where an order leaves the customer and since when (the seconds of `since`): past_due's grace
// period runs from it, so arrival order must not move it either (domain/sinceInOrder.ts).
export function dated(order: readonly FactEvent[]): string {
  const { lifecycle, since } = run(order.map(recordFact)).state;
  return `${lifecycle} since ${since === null ? '-' : since.slice(17, 19)}`;
}

export const describeFacts = (history: readonly FactEvent[]) =>
  history
    .map((fact) => {
      const status = 'status' in fact.data ? `(${String(fact.data.status)})` : '';
      const subscription = 'subscriptionId' in fact.data ? String(fact.data.subscriptionId) : '';
      return `${fact.type}${status}@${fact.data.occurredAt.slice(17, 19)} ${subscription}`;
    })
    .join(', ');

// What the customer's subscriptions look like after the facts, in order: which one is current,
// its status, terms, trial end and start, every subscription's snapshot (map order aside), and
// the last payment. Read by the customer API, the CRM's MRR and plan, and the app's entitlements.
export const subscriptionView = (history: readonly FactEvent[]): string => JSON.stringify(subscriptionViewOf(run(history.map(recordFact)).state));

export function subscriptionViewOf(state: CustomerState): Record<string, unknown> {
  const { lifecycle, subscriptionId, subscriptionStatus, subscriptionSince, plan, mrrCents, currency, trialEndsAt, lastPayment } = state;
  const snapshots = Object.entries(state.subscriptions ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return { lifecycle, subscriptionId, subscriptionStatus, subscriptionSince, plan, mrrCents, currency, trialEndsAt, lastPayment, snapshots };
}
