import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { domainEvent, LIFECYCLE_STATES, type FactEvent } from '../../contracts/domainEvents.ts';
import { customerDecider } from '../../domain/customerDecider.ts';
import { FACT_CASES, LIFECYCLE_TABLE, type FactCaseName, type ReviewableState } from '../../domain/lifecycleTable.ts';
import { arrivalOf, orderingKey } from '../../domain/ordering.ts';
import { deciderSpecification } from './deciderSpecification.ts';
import { at, facts, givenFor, historyTo, NOW, recordFact, sampleFact, stateAfter } from './lifecycleFixtures.ts';

const spec = deciderSpecification(customerDecider, { now: NOW });
const caseNames = Object.keys(FACT_CASES) as FactCaseName[];
const reviewable = LIFECYCLE_STATES.filter((state): state is ReviewableState => state !== 'needs_review');

// Plants a newer watermark on a subscription without deciding anything or changing which
// subscription the customer is on.
const newerNoOpOn = (fact: FactEvent, second: number) => {
  const subscriptionId = orderingKey(fact).replace(/^subscription:/, '');
  return domainEvent('TrialWillEnd', { occurredAt: at(second), subscriptionId, trialEndsAt: '2026-03-01T00:00:00Z' });
};

describe('stale facts: older than what was applied for the same object -> recorded, no decision', () => {
  for (const state of reviewable) {
    for (const name of caseNames) {
      // A dispute is news however late: below.
      if (LIFECYCLE_TABLE[name][state].kind === 'stay' || FACT_CASES[name].type === 'DisputeOpened') continue;
      test(`${state} + stale ${name}`, () => {
        const fact = sampleFact(name, 10);
        assert.match(orderingKey(fact), /^subscription:/);
        const decidedWhenFresh = customerDecider.decide(recordFact(fact), stateAfter(givenFor(name, state)), { now: NOW });
        assert.equal(decidedWhenFresh.length, 2, 'control: the same fact decides something when it is not stale');
        spec
          .given([...givenFor(name, state), newerNoOpOn(fact, 20)])
          .when(recordFact(fact))
          .then([fact]);
      });
    }
  }

  test('a dispute older than the refund of its charge still flags: in order it came first, and a human looks', () => {
    const dispute = domainEvent('DisputeOpened', { occurredAt: at(10), disputeId: 'dp_1', chargeId: 'ch_in_5', amountCents: 4900, currency: 'usd' });
    const given = [...historyTo('active'), facts.paymentSucceeded(5), facts.chargeRefunded(20, 'in_5')];
    assert.equal(arrivalOf(stateAfter(given).watermarks[orderingKey(dispute)], dispute.data.occurredAt), 'stale');
    const decided = customerDecider.decide(recordFact(dispute), stateAfter(given), { now: NOW });
    assert.deepEqual(decided.map((event) => (event.type === 'FlaggedForReview' ? `flagged ${event.data.reason}` : event.type)), ['DisputeOpened', 'flagged dispute_opened']);
  });

  test('a stale snapshot does not overwrite newer subscription data', () => {
    const newer = { ...facts.subscriptionChanged(20, 'active'), data: { ...facts.subscriptionChanged(20, 'active').data, mrrCents: 9900 } };
    const older = facts.subscriptionChanged(10, 'active');
    const state = stateAfter([...historyTo('active'), newer, older]);
    assert.equal(state.mrrCents, 9900);
  });

  test('the stale refund that arrives after a later payment does not refund the customer', () => {
    spec
      .given([...historyTo('active'), facts.paymentSucceeded(20)])
      .when(recordFact(facts.refundIssued(10)))
      .then([facts.refundIssued(10)]);
  });

  test('facts on different objects never make each other stale', () => {
    const oneOff = facts.paymentSucceeded(20, null);
    const failed = facts.paymentFailed(10);
    assert.notEqual(orderingKey(oneOff), orderingKey(failed));
    const decided = customerDecider.decide(recordFact(failed), stateAfter([...historyTo('active'), oneOff]), { now: NOW });
    assert.equal(decided.length, 2);
  });

  test('instants are compared as times, not as strings', () => {
    const watermark = { occurredAt: '2026-02-01T00:00:05Z', base: { lifecycle: 'active' as const, subscriptionId: null }, winner: null };
    assert.equal(arrivalOf(watermark, '2026-02-01T00:00:05.000+00:00'), 'tie');
    assert.equal(arrivalOf(watermark, '2026-02-01T01:00:04+01:00'), 'stale');
    assert.equal(arrivalOf(watermark, '2026-02-01T00:00:05.001Z'), 'newer');
    assert.equal(arrivalOf(undefined, '2026-02-01T00:00:05Z'), 'newer');
  });
});

describe('orderingKey: the object a fact is ordered against', () => {
  const cases: [string, FactEvent, string][] = [
    ['subscription facts', facts.subscriptionChanged(1, 'active'), 'subscription:sub_1'],
    ['a subscription invoice', facts.paymentSucceeded(1), 'subscription:sub_1'],
    ['a one-off invoice', facts.paymentSucceeded(1, null), 'invoice:in_1'],
    [
      'a payment intent without invoice',
      domainEvent('PaymentFailed', { occurredAt: at(1), paymentIntentId: 'pi_1', amountCents: 100, currency: 'usd' }),
      'payment_intent:pi_1',
    ],
    ['a charge without invoice', domainEvent('PaymentSucceeded', { occurredAt: at(1), chargeId: 'ch_1', amountCents: 100, currency: 'usd' }), 'charge:ch_1'],
    ['a refund on a subscription', facts.refundIssued(1), 'subscription:sub_1'],
    ['a refund on a lone charge', facts.refundIssued(1, 4900, null), 'charge:ch_1'],
    ['a dispute on a lone charge', facts.disputeOpened(1, null), 'charge:ch_1'],
    ['a ticket', sampleFact('TicketUpdated', 1), 'ticket:tk_1'],
    ['a lead and a profile change share the profile', sampleFact('LeadCaptured', 1), 'profile'],
    ['profile', sampleFact('CustomerProfileUpdated', 1), 'profile'],
    ['a CRM property', sampleFact('CrmPropertyChanged', 1), 'crm:lifecyclestage'],
    ['an identity', sampleFact('IdentityUnlinked', 1), 'identity:crm:crm_1'],
    ['a deletion', sampleFact('CustomerDeleted', 1), 'deletion:stripe'],
  ];
  for (const [what, fact, key] of cases) {
    test(what, () => assert.equal(orderingKey(fact), key));
  }
});
