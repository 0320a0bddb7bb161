import { domainEvent, isFactEvent, type DomainEvent, type FactEvent } from '../contracts/domainEvents.ts';
import type { Cause, ReviewReason } from '../contracts/events/decisions.ts';
import type { CustomerState } from './customerState.ts';
import { evolve, initialState } from './customerState.ts';
import { LIFECYCLE_FACTS, sourceOrderKey } from './ordering.ts';

// `since` dates the customer's state: the source time of the fact that moved them into it.
// Delivered in source-time order, that is where the last run of the state began. Delivered out of
// order, it was whichever fact happened to arrive and make the move: a subscription's later
// "active" that overtakes the invoice which activated it dated the customer from the later word,
// and a retry's failure that overtakes the first failure started past_due's grace period (which
// runs from `since`) late. The state converges whatever the arrival order (the rest of the
// domain sees to that); its date must too.
//
// So for a late billing fact (one that sorts before a fact the customer has), and for every move
// once facts have arrived out of order (until all are in, the arrival order can leave the customer
// elsewhere, and a newer fact's move then dates them), the caller hands the customer's recorded
// events to `decide` (DecideContext.history): their facts are decided again in source-time order,
// and where that ends in the state the arrival order reached but from another time, the state is
// re-dated (LifecycleRedated). Under review for a dispute, the same question asked at the same
// time can have been flagged from another state: the review is re-based to it (the CRM and
// support views show the customer by it, and resolve_review returns them there). Left alone: a
// state a human chose (an override, a resolved review, an identity question), the provisional
// flags (their own rules withdraw or replace them), and a state the source-time order does not
// reach (then the arrival order's date is kept with it).

const BILLING_KEY = /^(subscription|invoice|payment_intent|charge):/;

// Whether `fact` sorts before a fact the customer already has that can move their lifecycle (in
// source-time order, ties in the order sourceOrderKey picks): the only case in which the arrival
// order can have dated the customer's state differently from that order.
export function arrivesLate(fact: FactEvent, state: CustomerState): boolean {
  if (!LIFECYCLE_FACTS.has(fact.type)) return false;
  const through = state.lifecycleFactsThrough;
  if (through !== undefined) return through !== null && sourceOrderKey(fact) < through;
  // A base stored before lifecycleFactsThrough: older than the newest billing fact.
  const at = Date.parse(fact.data.occurredAt);
  for (const [key, watermark] of Object.entries(state.watermarks)) {
    if (BILLING_KEY.test(key) && Date.parse(watermark.occurredAt) > at) return true;
  }
  return false;
}

// A move out of or between states a re-dating can touch (a flag is not re-dated).
export const movesLifecycle = (event: DomainEvent): boolean => event.type === 'LifecycleChanged';

type DecideFact = (fact: FactEvent, state: CustomerState) => DomainEvent[];

// After `fact` was decided by arrival (leaving the customer in `after`): the re-dating of their
// state, if the source-time order dates it differently. `history` is every event recorded before
// the fact, in stream order.
export function redated(fact: FactEvent, history: readonly DomainEvent[], after: CustomerState, decideFact: DecideFact): DomainEvent | undefined {
  if (history.some(byHuman) || (after.lifecycle === 'needs_review' && !REBASED_REVIEWS.has(after.review?.reason ?? ''))) return undefined;
  // Only facts that can move a lifecycle: a long history's tickets and CRM words cost nothing.
  const inOrder = foldInSourceOrder([...history.filter(isLifecycleFact), fact], decideFact);
  if (inOrder.state.lifecycle !== after.lifecycle || inOrder.cause === undefined) return undefined;
  if (after.lifecycle === 'needs_review') return rebasedReview(after, inOrder.state, inOrder.cause);
  if (inOrder.state.since === after.since) return undefined;
  return domainEvent('LifecycleRedated', { lifecycle: after.lifecycle, previousSince: after.since, cause: inOrder.cause });
}

// A dispute's review: the same question at the same time in any order (disputeArrivalOrder.unit).
// The provisional flags (provisionalFlags.ts) are withdrawn or replaced by their own rules; the
// others are a human's or not yet shown to converge.
const REBASED_REVIEWS: ReadonlySet<string> = new Set<ReviewReason>(['dispute_opened', 'dispute_without_payment']);

// The same question, asked at the same time, but flagged from another state in source-time order.
function rebasedReview(after: CustomerState, inOrder: CustomerState, cause: Cause): DomainEvent | undefined {
  const review = after.review;
  const ordered = inOrder.review;
  if (review === null || ordered === null || ordered.reason !== review.reason || inOrder.since !== after.since || ordered.from === review.from) return undefined;
  return domainEvent('LifecycleRedated', { lifecycle: 'needs_review', previousSince: after.since, cause, reviewFrom: ordered.from, previousReviewFrom: review.from });
}

const isLifecycleFact = (event: DomainEvent): event is FactEvent => isFactEvent(event) && LIFECYCLE_FACTS.has(event.type);

// An override, a resolved review, or an identity question put to a human: the state or its
// history holds a person's judgement, which a re-decision cannot reproduce.
const byHuman = (event: DomainEvent): boolean =>
  event.type === 'ManualOverrideApplied' || event.type === 'ReviewResolved' || (event.type === 'FlaggedForReview' && event.data.identity !== undefined);

// The facts decided one by one in source-time order (sourceOrderKey; facts with one key, in the
// order they arrived), and the cause of the last move.
function foldInSourceOrder(facts: FactEvent[], decideFact: DecideFact) {
  const sorted = facts
    .map((fact, index) => ({ fact, index, key: sourceOrderKey(fact) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.index - b.index));
  let state = initialState;
  let cause: Cause | undefined;
  for (const { fact } of sorted) {
    for (const event of decideFact(fact, state)) {
      if (event.type === 'LifecycleChanged' || event.type === 'FlaggedForReview') cause = event.data.cause;
      state = evolve(state, event);
    }
  }
  return { state, cause };
}
