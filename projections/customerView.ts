import type { LifecycleState } from '../contracts/events/vocabulary.ts';
import type { CustomerState } from '../domain/customerState.ts';
import { liveSubscriptions } from '../domain/subscriptions.ts';

// What every read model reads the same way from a customer's domain state, so the CRM, the
// support desk and the app never disagree on a plan name, a VIP's MRR or a plan-keyed setting.

export type StandingLifecycle = Exclude<LifecycleState, 'needs_review'>;
export type Plan = NonNullable<CustomerState['plan']>;

// Under review, a customer is shown as the state they were flagged from (plus a review flag):
// the review is a question for a human, not a new standing. Null only in the instant between a
// ReviewResolved and the LifecycleChanged appended with it.
export function standingOf(state: CustomerState): StandingLifecycle | null {
  if (state.lifecycle !== 'needs_review') return state.lifecycle;
  const from = state.review?.from;
  return from === undefined || from === 'needs_review' ? null : from;
}

// A plan is held while a subscription is alive: trialing, paid, or unpaid but not yet ended.
export const holdsPlan = (standing: StandingLifecycle): boolean => standing === 'trial' || standing === 'active' || standing === 'past_due';

// MRR counts while the customer is billed (active, or past_due until Stripe gives up), not
// during a trial and not after the end; null when the subscription's amount is unknown. A
// customer billed for several subscriptions at once (a plan and an add-on) counts each of them
// that is billed, in the current subscription's currency.
export function countedMrrCents(standing: StandingLifecycle, state: CustomerState): number | null {
  if (standing !== 'active' && standing !== 'past_due') return 0;
  const others = otherLive(state).filter(
    ({ meaning, snapshot }) => meaning !== 'trialing' && snapshot.mrrCents !== null && (snapshot.currency === state.currency || state.currency === null),
  );
  if (others.length === 0) return state.mrrCents;
  return others.reduce((sum, { snapshot }) => sum + (snapshot.mrrCents ?? 0), state.mrrCents ?? 0);
}

export const planName = (plan: Plan): string => plan.nickname ?? plan.priceId;

// The plans a customer holds: the current subscription's, then those of their other live
// subscriptions (an add-on beside a plan), each once.
export function heldPlans(state: CustomerState): Plan[] {
  const others = otherLive(state).flatMap(({ snapshot }) => (snapshot.plan === null ? [] : [snapshot.plan]));
  const plans = state.plan === null ? others : [state.plan, ...others];
  return plans.filter((plan, index) => plans.findIndex((p) => p.priceId === plan.priceId) === index);
}

// The plan to show for the customer: of the plans they hold, the one billed the most (a plan
// beside its add-on, whichever of them spoke last); the current subscription's on a tie.
export function primaryPlan(state: CustomerState): Plan | null {
  let best: { plan: Plan; mrrCents: number } | null = state.plan === null ? null : { plan: state.plan, mrrCents: state.mrrCents ?? -1 };
  for (const { snapshot } of otherLive(state)) {
    if (snapshot.plan !== null && (best === null || (snapshot.mrrCents ?? -1) > best.mrrCents)) best = { plan: snapshot.plan, mrrCents: snapshot.mrrCents ?? -1 };
  }
  return best?.plan ?? null;
}

// The customer's live subscriptions other than the current one (domain/subscriptions.ts).
function otherLive(state: CustomerState) {
  return liveSubscriptions(state)
    .filter((live) => live.id !== state.subscriptionId)
    .map((live) => ({ ...live, snapshot: state.subscriptions![live.id]! }));
}

// Config tables (LEDGER_CRM_OWNERS, LEDGER_PLAN_FEATURES) name a plan by Stripe price id or by
// nickname, lower-cased by the config parser; the price id wins because it is the more
// specific, and `default` covers every other plan (and no plan).
export const DEFAULT_PLAN_KEY = 'default';
export type PlanTable<T> = Readonly<Record<string, T>>;

export function lookupByPlan<T>(table: PlanTable<T>, plan: Plan | null): { key: string; value: T } | null {
  const candidates = plan === null ? [DEFAULT_PLAN_KEY] : [plan.priceId, plan.nickname, DEFAULT_PLAN_KEY];
  for (const candidate of candidates) {
    if (candidate === undefined) continue;
    const key = candidate.toLowerCase();
    const value = Object.hasOwn(table, key) ? table[key] : undefined;
    if (value !== undefined) return { key, value };
  }
  return null;
}
