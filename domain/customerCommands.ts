import type { Actor } from '../contracts/eventMetadata.ts';
import { domainEvent, type DomainEvent, type FactEvent } from '../contracts/domainEvents.ts';
import type { AmbiguousIdentity, Cause } from '../contracts/events/decisions.ts';
import type { LifecycleState, OverrideAction } from '../contracts/events/vocabulary.ts';
import { evolve, type CustomerState } from './customerState.ts';
import { LedgerError } from './errors.ts';
import { evaluateLifecycle } from './lifecycleMachine.ts';
import { arrivalOf, isSuperseded, LIFECYCLE_FACTS, losesTie, orderingKey } from './ordering.ts';
import { subscriptionIdOf } from './factGuards.ts';
import { fullRefundAtOf, mayBeRefunded, paymentKnownFor, refundStanding, underRefund } from './refunds.ts';
import { endRevealsUnheldPayment, paymentAfterEnd, staleCancellation } from './paymentAfterCancel.ts';
import { underProvisionalFlag } from './provisionalFlags.ts';
import { arrivesLate, movesLifecycle, redated } from './sinceInOrder.ts';
import { bestLiveState, liveSubscriptions, otherLiveAt } from './subscriptions.ts';

// Record a fact from the outside world (Stripe, the CRM, the support desk, the app).
export interface RecordFact {
  type: 'RecordFact';
  fact: FactEvent;
}

// A human decision: the only way out of needs_review, and an audited correction elsewhere.
export interface ApplyManualOverride {
  type: 'ApplyManualOverride';
  action: OverrideAction;
  // Required for set_state; resolve_review defaults to the state the customer was flagged from.
  to?: LifecycleState;
  reason: string;
  actor: Actor;
}

export type CustomerCommand = RecordFact | ApplyManualOverride;

export interface DecideContext {
  // ISO time of the decision, from the caller's clock: the domain never reads one.
  now: string;
  // Set when the delivery's e-mail belongs to another customer that this one was not merged
  // with (domain/identityMatch.ts): the fact is recorded, then a human merges or confirms.
  ambiguousIdentity?: AmbiguousIdentity;
  // Every event recorded for the customer before this command, in stream order. Read only where
  // historyNeeded says (a late billing fact; a move after facts arrived out of order): the caller
  // passes it then, and the customer's state is dated as in source-time order
  // (domain/sinceInOrder.ts). Without it the arrival order dates the state.
  history?: readonly DomainEvent[];
}

export const historyNeeded = (command: CustomerCommand, state: CustomerState): boolean =>
  command.type === 'RecordFact' && datedBySourceOrder(command.fact, state, () => decideFact(command.fact, state));

// A late fact, or a move made while the arrival order may have left the customer elsewhere than
// source-time order would (domain/sinceInOrder.ts).
const datedBySourceOrder = (fact: FactEvent, state: CustomerState, decided: () => DomainEvent[]): boolean =>
  arrivesLate(fact, state) || (state.arrivedOutOfOrder === true && LIFECYCLE_FACTS.has(fact.type) && decided().some(movesLifecycle));

export function decide(command: CustomerCommand, state: CustomerState, context: DecideContext): DomainEvent[] {
  switch (command.type) {
    case 'RecordFact': {
      const decided = decideFact(command.fact, state);
      const flagged = context.ambiguousIdentity ? flagAmbiguousIdentity(command.fact, state, decided, context.ambiguousIdentity) : decided;
      return context.history !== undefined && datedBySourceOrder(command.fact, state, () => flagged) ? withRedating(command.fact, state, flagged, context.history) : flagged;
    }
    case 'ApplyManualOverride':
      return decideOverride(command, state, context.now);
    default: {
      const unhandled: never = command;
      throw new LedgerError('LEDGER_VALIDATION', `Unknown command ${JSON.stringify(unhandled)}`);
    }
  }
}

function withRedating(fact: FactEvent, state: CustomerState, decided: DomainEvent[], history: readonly DomainEvent[]): DomainEvent[] {
  const redating = redated(fact, history, decided.reduce(evolve, state), decideFact);
  return redating === undefined ? decided : [...decided, redating];
}

// A fact is always recorded (money moved whether or not we expected it); what follows it is
// the decision: a transition, a flag, or nothing.
function decideFact(fact: FactEvent, state: CustomerState): DomainEvent[] {
  const key = orderingKey(fact);
  const watermark = state.watermarks[key];
  const arrival = arrivalOf(watermark, fact.data.occurredAt);
  // Under review every fact is recorded, and decides nothing but what a provisional flag allows.
  if (state.lifecycle === 'needs_review') return underProvisionalFlag(fact, state, key);
  // A dispute is news however late it arrives (a refund of its charge, newer, makes it stale): in
  // order it flagged the customer, and a human looks whatever came after.
  if (arrival === 'stale' && fact.type !== 'DisputeOpened') return staleCancellation(fact, state, key) ?? staleUnderRefund(fact, state);
  const afterEnd = paymentAfterEnd(fact, state, key) ?? endRevealsUnheldPayment(fact, state);
  if (afterEnd !== undefined) return afterEnd;

  // Same-instant siblings are all judged from the instant's base (ordering.ts), so the order
  // they arrive in cannot change the outcome. A superseded fact (an older subscription's, while
  // a newer one is current) moves nothing by the table, but it is still that subscription's
  // newest word, so what the customer holds side by side is judged again below.
  // A dispute is judged from where the customer is: its charge's instant may have begun under a
  // flag since withdrawn (a partial refund of the charge in the dispute's second).
  const base =
    arrival === 'tie' && watermark !== undefined && fact.type !== 'DisputeOpened' ? watermark.base : { lifecycle: state.lifecycle, subscriptionId: state.subscriptionId };
  // Only a refund's and a dispute's rows ask whether a payment is known; other facts keep one
  // memo entry each.
  const paymentKnown = paymentKnownFor(state, fact);
  const judged = isSuperseded(state, fact) ? { to: base.lifecycle, reviewReason: null } : evaluateLifecycle(base.lifecycle, base.subscriptionId, fact, liveSubscriptions(state), paymentKnown);
  let after: CustomerState | undefined;
  const stateAfter = () => (after ??= evolve(state, fact));
  const verdict = { ...judged, to: heldSideBySide(fact, state, judged.to, stateAfter) };
  const cause: Cause = { type: fact.type, occurredAt: fact.data.occurredAt, orderingKey: key };

  // A full refund stands until newer money or a newer subscription, whatever order the facts
  // arrive in (domain/refunds.ts): flags aside, it decides over the table here.
  const refund = verdict.to === 'needs_review' || !BILLING_FACTS.has(fact.type) || !mayBeRefunded(state, fact) ? undefined : underRefund(state, stateAfter(), fact);
  if (refund === 'nothing') return [fact];
  if (refund === 'refunded') return [fact, domainEvent('LifecycleChanged', { from: state.lifecycle, to: 'refunded', cause })];

  if (verdict.to === base.lifecycle) return [fact];
  if (arrival === 'tie' && watermark !== undefined && losesTie(watermark, verdict.to)) return [fact];
  // A same-instant sibling already took the customer there.
  if (verdict.to === state.lifecycle) return [fact];

  if (verdict.to === 'needs_review') {
    // Another subscription was live when this money came (its words arrived first, its end
    // too): in order the payment changed nothing.
    if (verdict.reviewReason === 'payment_after_cancel' && otherLiveAt(stateAfter(), fact.data.occurredAt, subscriptionIdOf(fact))) return [fact];
    return [fact, domainEvent('FlaggedForReview', { reason: verdict.reviewReason ?? 'manual_review', from: state.lifecycle, cause })];
  }
  return [fact, domainEvent('LifecycleChanged', { from: state.lifecycle, to: verdict.to, cause })];
}

// A stale fact decides nothing by the table, but it still sets what a refund's standing is
// judged on: a refund judged overtaken when it arrived, because only its subscription's later
// words were known then (with no payment known, a subscription that began after the refund
// overtakes it), stands once the subscription's earlier first word arrives, and the customer is
// refunded, since the refund, as in order. (A stale refund itself is left to the table's rule
// for stale facts.)
function staleUnderRefund(fact: FactEvent, state: CustomerState): DomainEvent[] {
  if (fact.type === 'RefundIssued' || !BILLING_FACTS.has(fact.type) || fullRefundAtOf(state) === null || refundStanding(state) === 'stands') return [fact];
  const after = evolve(state, fact);
  if (refundStanding(after) !== 'stands' || underRefund(state, after, fact) !== 'refunded') return [fact];
  return [fact, domainEvent('LifecycleChanged', { from: state.lifecycle, to: 'refunded', cause: { type: 'RefundIssued', occurredAt: fullRefundAtOf(after)! } })];
}

// Several subscriptions at once: the table judges a fact by its own subscription (and what
// was live before it), which leaves the outcome to arrival order when another subscription's
// word came first. So a subscription fact that leaves the customer on a subscription's terms
// (trial, active, past due, canceled) ends where their best live subscription, after it,
// makes them: active, else past due, else trial; with none live, the table's outcome stands.
// A refunded customer is left to the table (their own subscription reporting active again does
// not restore access), as are flags.
function heldSideBySide(fact: FactEvent, state: CustomerState, to: LifecycleState, stateAfter: () => CustomerState): LifecycleState {
  if (to !== 'trial' && to !== 'active' && to !== 'past_due' && to !== 'canceled') return to;
  const subscriptionId = subscriptionIdOf(fact);
  if (state.lifecycle === 'refunded' || subscriptionId === undefined) return to;
  const held = Object.keys(state.subscriptions ?? {});
  if (held.length + (held.includes(subscriptionId) ? 0 : 1) < 2) return to;
  return bestLiveState(stateAfter()) ?? to;
}

// The facts a refund's standing is judged on: what pays, refunds, or starts and ends a
// subscription (every fact that can move a lifecycle but a dispute).
const BILLING_FACTS: ReadonlySet<FactEvent['type']> = new Set([...LIFECYCLE_FACTS].filter((type) => type !== 'DisputeOpened'));

// The fact still means what it means (the new customer's subscription is active); the flag
// comes after it, so resolving the review without a target returns the customer there.
function flagAmbiguousIdentity(fact: FactEvent, state: CustomerState, decided: DomainEvent[], identity: AmbiguousIdentity): DomainEvent[] {
  const after = decided.reduce(evolve, state);
  // Already under review for its own reason: one review covers both.
  if (after.lifecycle === 'needs_review') return decided;
  const cause: Cause = { type: fact.type, occurredAt: fact.data.occurredAt };
  return [...decided, domainEvent('FlaggedForReview', { reason: 'ambiguous_identity', from: after.lifecycle, cause, identity })];
}

function decideOverride(command: ApplyManualOverride, state: CustomerState, now: string): DomainEvent[] {
  const { action, actor } = command;
  const reason = command.reason.trim();
  if (reason.length === 0) throw new LedgerError('LEDGER_VALIDATION', 'An override needs a reason', { field: 'reason' });
  // Support may clear a review; only an admin may put a customer in an arbitrary state.
  const allowed = action === 'resolve_review' ? actor.role === 'admin' || actor.role === 'support' : actor.role === 'admin';
  if (!allowed) throw new LedgerError('LEDGER_FORBIDDEN', `Role ${actor.role} may not ${action}`, { action, role: actor.role });

  const to = overrideTarget(command, state);
  const override = domainEvent('ManualOverrideApplied', { occurredAt: now, action, to, reason, actor });
  const verdict = evaluateLifecycle(state.lifecycle, state.subscriptionId, override);
  if (verdict.to === state.lifecycle) {
    throw new LedgerError('LEDGER_ILLEGAL_STATE', `Customer is already ${state.lifecycle}`, { state: state.lifecycle });
  }

  const cause: Cause = { type: 'ManualOverrideApplied', occurredAt: now };
  const events: DomainEvent[] = [override];
  if (state.review !== null) {
    events.push(domainEvent('ReviewResolved', { occurredAt: now, reviewReason: state.review.reason, to: verdict.to, actor }));
  }
  events.push(
    verdict.to === 'needs_review'
      ? domainEvent('FlaggedForReview', { reason: verdict.reviewReason ?? 'manual_review', from: state.lifecycle, cause })
      : domainEvent('LifecycleChanged', { from: state.lifecycle, to: verdict.to, cause }),
  );
  return events;
}

function overrideTarget(command: ApplyManualOverride, state: CustomerState): LifecycleState {
  if (command.action === 'resolve_review') {
    if (state.lifecycle !== 'needs_review') {
      throw new LedgerError('LEDGER_ILLEGAL_STATE', 'Customer is not under review', { state: state.lifecycle });
    }
    const to = command.to ?? state.review?.from;
    if (to === undefined) throw new LedgerError('LEDGER_VALIDATION', 'resolve_review needs `to`: the flagged state is unknown', { field: 'to' });
    return to;
  }
  if (command.to === undefined) throw new LedgerError('LEDGER_VALIDATION', 'set_state needs `to`', { field: 'to' });
  return command.to;
}
