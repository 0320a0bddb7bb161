import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FACT_TYPES, LIFECYCLE_STATES, SUBSCRIPTION_STATUSES } from '../../contracts/domainEvents.ts';
import { customerDecider } from '../../domain/customerDecider.ts';
import { factGuards, STATUS_MEANING, type LifecycleContext } from '../../domain/factGuards.ts';
import { FACT_CASES, LIFECYCLE_TABLE, PRECEDENCE, type FactCaseName, type ReviewableState } from '../../domain/lifecycleTable.ts';
import { deciderSpecification } from './deciderSpecification.ts';
import { ADDON, changedTo, facts, flagged, givenFor, historyTo, KNOWN, NOW, recordFact, sampleFact, stateAfter } from './lifecycleFixtures.ts';

// Every state x every fact case, straight from the one table the machine is generated from.

const spec = deciderSpecification(customerDecider, { now: NOW });
const caseNames = Object.keys(FACT_CASES) as FactCaseName[];
const reviewable = LIFECYCLE_STATES.filter((state): state is ReviewableState => state !== 'needs_review');
const WHEN = 30; // every "when" fact is newer than the histories (seconds 1-3)

describe('lifecycle table: given a state, when a fact arrives, then the table decides', () => {
  for (const state of reviewable) {
    for (const name of caseNames) {
      const outcome = LIFECYCLE_TABLE[name][state];
      const label = outcome.kind === 'stay' ? 'recorded, no transition' : outcome.kind === 'to' ? `-> ${outcome.to}` : `flagged: ${outcome.reason}`;
      test(`${state} + ${name}: ${label}`, () => {
        const fact = sampleFact(name, WHEN);
        const expected =
          outcome.kind === 'stay' ? [fact] : outcome.kind === 'to' ? [fact, changedTo(fact, state, outcome.to)] : [fact, flagged(fact, state, outcome.reason)];
        spec.given(givenFor(name, state)).when(recordFact(fact)).then(expected);
      });
    }
  }
  for (const name of caseNames) {
    test(`needs_review + ${name}: recorded, no transition`, () => {
      const fact = sampleFact(name, WHEN);
      spec.given(givenFor(name, 'needs_review')).when(recordFact(fact)).then([fact]);
    });
  }
});

describe('lifecycle table: the rules the business asked for, written out', () => {
  const cases: [string, ReviewableState, ReturnType<typeof sampleFact>, 'stay' | ReviewableState | 'needs_review'][] = [
    ['a lead starts a trial', 'lead', facts.trialStarted(WHEN), 'trial'],
    ['a lead subscribes and pays', 'lead', facts.subscriptionActivated(WHEN), 'active'],
    ['a lead pays a subscription invoice', 'lead', facts.paymentSucceeded(WHEN), 'active'],
    ['a trial converts', 'trial', facts.paymentSucceeded(WHEN), 'active'],
    ['a trial is activated', 'trial', facts.subscriptionActivated(WHEN), 'active'],
    ['an active customer fails a payment', 'active', facts.paymentFailed(WHEN), 'past_due'],
    ['an active subscription goes unpaid', 'active', facts.subscriptionChanged(WHEN, 'unpaid'), 'past_due'],
    ['an active subscription goes past due', 'active', facts.subscriptionChanged(WHEN, 'past_due'), 'past_due'],
    ['a past-due customer pays', 'past_due', facts.paymentSucceeded(WHEN), 'active'],
    ['a trial is canceled', 'trial', facts.subscriptionCanceled(WHEN), 'canceled'],
    ['an active customer cancels', 'active', facts.subscriptionCanceled(WHEN), 'canceled'],
    ['a past-due customer is canceled', 'past_due', facts.subscriptionCanceled(WHEN), 'canceled'],
    ['an active customer is fully refunded', 'active', facts.refundIssued(WHEN), 'refunded'],
    ['a past-due customer is fully refunded', 'past_due', facts.refundIssued(WHEN), 'refunded'],
    ['a canceled customer is fully refunded', 'canceled', facts.refundIssued(WHEN), 'refunded'],
    ['a partial refund changes nothing', 'active', facts.refundIssued(WHEN, 1000), 'stay'],
    ['a dispute on a paying customer needs review', 'active', facts.disputeOpened(WHEN), 'needs_review'],
    ['a canceled customer resubscribes with a trial', 'canceled', facts.trialStarted(WHEN, 'sub_2'), 'trial'],
    ['a canceled customer resubscribes', 'canceled', facts.subscriptionActivated(WHEN, 'sub_2'), 'active'],
    ['a canceled customer pays a new subscription', 'canceled', facts.paymentSucceeded(WHEN, 'sub_2'), 'active'],
    ['a refund for a lead is impossible', 'lead', facts.refundIssued(WHEN), 'needs_review'],
    ['a dispute on a lead is impossible', 'lead', facts.disputeOpened(WHEN), 'needs_review'],
    ['a payment on a canceled subscription is impossible', 'canceled', facts.paymentSucceeded(WHEN), 'needs_review'],
    ['a refunded subscription reporting active does not restore access', 'refunded', facts.subscriptionChanged(WHEN, 'active'), 'stay'],
    ['a one-off payment is not a subscription', 'lead', facts.paymentSucceeded(WHEN, null), 'stay'],
    ['a declined add-on purchase leaves an active customer active', 'active', facts.paymentFailed(WHEN, null), 'stay'],
    ['an add-on subscription going past due leaves a paying customer active', 'active', facts.subscriptionChanged(WHEN, 'past_due', 'sub_2'), 'stay'],
    ["an add-on's failed renewal leaves a paying customer active", 'active', facts.renewalFailed(WHEN, 'sub_2'), 'stay'],
    ['a declined one-off invoice leaves a trial on its trial', 'trial', facts.paymentFailed(WHEN, null), 'stay'],
    ['a declined one-off invoice changes nothing for a past-due customer', 'past_due', facts.paymentFailed(WHEN, null), 'stay'],
    ["a lead's failed first subscription invoice keeps it a lead", 'lead', facts.paymentFailed(WHEN), 'stay'],
    ['an upgrade cancels the replaced subscription: the customer keeps the current one', 'active', facts.subscriptionCanceled(WHEN, 'sub_2'), 'stay'],
    ['the replaced subscription reports canceled: the customer keeps the current one', 'past_due', facts.subscriptionChanged(WHEN, 'canceled', 'sub_2'), 'stay'],
    ['a cancellation that reaches a lead first: it had that subscription', 'lead', facts.subscriptionCanceled(WHEN), 'canceled'],
    ['a canceled snapshot that reaches a lead first', 'lead', facts.subscriptionChanged(WHEN, 'canceled'), 'canceled'],
    ['a trial reminder that reaches a lead first: it is on a trial', 'lead', facts.trialWillEnd(WHEN), 'trial'],
    ['a trial reminder is no transition for a paying customer', 'active', facts.trialWillEnd(WHEN), 'stay'],
  ];
  for (const [behaviour, state, fact, then] of cases) {
    test(`${behaviour}: ${state} -> ${then}`, () => {
      const decided = customerDecider.decide(recordFact(fact), stateAfter(historyTo(state)), { now: NOW });
      assert.deepEqual(decided[0], fact, 'the fact is always recorded first');
      const lifecycle = stateAfter(decided, stateAfter(historyTo(state))).lifecycle;
      assert.equal(lifecycle, then === 'stay' ? state : then);
      assert.equal(decided.length, then === 'stay' ? 1 : 2);
    });
  }
});

describe('lifecycle table: shape', () => {
  test('every fact type has at least one case', () => {
    const covered = new Set(caseNames.map((name) => FACT_CASES[name].type));
    assert.deepEqual([...FACT_TYPES].filter((type) => !covered.has(type)), []);
  });

  test('a row never "moves" to the state it is in', () => {
    for (const name of caseNames) {
      for (const state of reviewable) {
        const outcome = LIFECYCLE_TABLE[name][state];
        assert.ok(outcome.kind !== 'to' || outcome.to !== state, `${name} in ${state}`);
      }
    }
  });

  test('every Stripe subscription status has a meaning', () => {
    assert.deepEqual(Object.keys(STATUS_MEANING).sort(), [...SUBSCRIPTION_STATUSES].sort());
  });

  test('precedence is a strict order over every state', () => {
    assert.equal(new Set(Object.values(PRECEDENCE)).size, LIFECYCLE_STATES.length);
  });

  // The machine takes the first enabled transition, so cases of one type must never overlap,
  // and together they must cover every fact of that type.
  const contexts: LifecycleContext[] = [false, true].flatMap((paymentKnown) => [
    { subscriptionId: null, reviewReason: null, liveSubscriptions: [], paymentKnown },
    { subscriptionId: KNOWN, reviewReason: null, liveSubscriptions: [], paymentKnown },
    { subscriptionId: KNOWN, reviewReason: null, liveSubscriptions: [{ id: KNOWN, meaning: 'active' as const }], paymentKnown },
    ...(['active', 'pastDue', 'trialing'] as const).map((meaning) => ({ subscriptionId: KNOWN, reviewReason: null, liveSubscriptions: [{ id: KNOWN, meaning: 'active' as const }, { id: ADDON, meaning }], paymentKnown })),
  ]);
  for (const name of caseNames) {
    test(`${name}: exactly one case of its type matches its sample, in every context`, () => {
      const event = sampleFact(name, WHEN);
      for (const context of contexts) {
        const matching = caseNames.filter(
          (candidate) => FACT_CASES[candidate].type === event.type && FACT_CASES[candidate].guards.every((guard) => factGuards[guard]({ context, event })),
        );
        assert.equal(matching.length, 1, `${JSON.stringify(context)} matched ${matching.join(', ')}`);
      }
    });
  }
});
