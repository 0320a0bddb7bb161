import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { domainEvent } from '../../contracts/domainEvents.ts';
import type { AmbiguousIdentity } from '../../contracts/events/decisions.ts';
import { customerDecider } from '../../domain/customerDecider.ts';
import { candidateOf, matchCandidate, type Candidate, type OwnedClaim } from '../../domain/identityMatch.ts';
import { facts, historyTo, NOW, recordFact, stateAfter } from './lifecycleFixtures.ts';

const claim = (kind: string, externalId: string, owner?: string): OwnedClaim => ({ kind, externalId, owner });
const lead: Candidate = { customerId: 'cust_lead', identities: [{ kind: 'crm', externalId: 'crm_1' }, { kind: 'email', externalId: 'ada@example.com' }], sharedIdentitiesFlagged: [] };
const payer: Candidate = { customerId: 'cust_payer', identities: [{ kind: 'stripe', externalId: 'cus_old' }, { kind: 'email', externalId: 'ada@example.com' }], sharedIdentitiesFlagged: [] };

describe('identity match: which customer a delivery names', () => {
  test('the candidate is the owner of the strongest claim that has one', () => {
    assert.equal(candidateOf([claim('stripe', 'cus_new'), claim('email', 'ada@example.com', 'cust_lead'), claim('stripe_invoice', 'in_1', 'cust_other')]), 'cust_lead');
    assert.equal(candidateOf([claim('stripe', 'cus_new')]), undefined);
  });

  test('a new Stripe customer with a CRM lead’s e-mail is that lead', () => {
    const claims = [claim('stripe', 'cus_new'), claim('email', 'ada@example.com', 'cust_lead')];
    assert.deepEqual(matchCandidate(claims, lead), { kind: 'same_customer' });
  });

  test('a new Stripe customer with the e-mail of someone who has another Stripe customer is someone new', () => {
    const claims = [claim('stripe', 'cus_new'), claim('email', 'ada@example.com', 'cust_payer'), claim('stripe_subscription', 'sub_1')];
    assert.deepEqual(matchCandidate(claims, payer), {
      kind: 'new_customer',
      identity: {
        claimed: { kind: 'stripe', externalId: 'cus_new' },
        matchedBy: { kind: 'email', externalId: 'ada@example.com' },
        otherCustomerId: 'cust_payer',
        otherHolds: { kind: 'stripe', externalId: 'cus_old' },
      },
    });
  });

  test('the same Stripe customer again is the same customer', () => {
    assert.deepEqual(matchCandidate([claim('stripe', 'cus_old', 'cust_payer'), claim('email', 'ada@example.com', 'cust_payer')], payer), { kind: 'same_customer' });
  });

  test('a known id whose e-mail belongs to another customer: flag it, once per e-mail', () => {
    const claims = [claim('stripe', 'cus_new', 'cust_new'), claim('email', 'ada@example.com', 'cust_payer')];
    const candidate: Candidate = { customerId: 'cust_new', identities: [{ kind: 'stripe', externalId: 'cus_new' }], sharedIdentitiesFlagged: [] };
    assert.deepEqual(matchCandidate(claims, candidate), {
      kind: 'shares_identity',
      identity: { claimed: { kind: 'stripe', externalId: 'cus_new' }, matchedBy: { kind: 'email', externalId: 'ada@example.com' }, otherCustomerId: 'cust_payer' },
    });
    assert.deepEqual(matchCandidate(claims, { ...candidate, sharedIdentitiesFlagged: ['email:ada@example.com'] }), { kind: 'same_customer' });
  });

  test("an object id (a subscription, a charge) names its customer outright; an e-mail's other ids are not questioned", () => {
    assert.deepEqual(matchCandidate([claim('stripe', 'cus_new'), claim('stripe_subscription', 'sub_1', 'cust_payer')], payer), { kind: 'same_customer' });
    assert.deepEqual(matchCandidate([claim('stripe', 'cus_old', 'cust_payer'), claim('stripe_charge', 'ch_1', 'cust_other')], payer), { kind: 'same_customer' });
  });
});

describe('identity match: the decision on the customer', () => {
  const identity: AmbiguousIdentity = {
    claimed: { kind: 'stripe', externalId: 'cus_new' },
    matchedBy: { kind: 'email', externalId: 'ada@example.com' },
    otherCustomerId: 'cust_payer',
  };
  const cause = (fact: ReturnType<typeof facts.subscriptionActivated>) => ({ type: fact.type, occurredAt: fact.data.occurredAt });

  test('the fact keeps its meaning, then the customer is flagged from where it took it', () => {
    const fact = facts.subscriptionActivated(5);
    const decided = customerDecider.decide(recordFact(fact), customerDecider.initialState, { now: NOW, ambiguousIdentity: identity });
    assert.deepEqual(decided.map((event) => event.type), ['SubscriptionActivated', 'LifecycleChanged', 'FlaggedForReview']);
    assert.deepEqual(decided.at(-1), domainEvent('FlaggedForReview', { reason: 'ambiguous_identity', from: 'active', cause: cause(fact), identity }));
    const state = stateAfter(decided);
    assert.equal(state.lifecycle, 'needs_review');
    // The review names the other customer and what they share: a reviewer reads it on the customer.
    assert.deepEqual(state.review, {
      reason: 'ambiguous_identity',
      from: 'active',
      flaggedAt: fact.data.occurredAt,
      identity: { claimed: { kind: 'stripe', externalId: 'cus_new' }, matchedBy: { kind: 'email', externalId: 'ada@example.com' }, otherCustomerId: 'cust_payer' },
    });
    assert.deepEqual(state.sharedIdentitiesFlagged, ['email:ada@example.com']);
  });

  test('a customer already under review is not flagged twice', () => {
    const fact = facts.paymentSucceeded(9);
    const decided = customerDecider.decide(recordFact(fact), stateAfter(historyTo('needs_review')), { now: NOW, ambiguousIdentity: identity });
    assert.deepEqual(decided, [fact]);
  });

  test('a fact that flags on its own keeps its own reason', () => {
    const fact = facts.disputeOpened(9);
    const paying = stateAfter([...historyTo('active'), facts.paymentSucceeded(1)]);
    const decided = customerDecider.decide(recordFact(fact), paying, { now: NOW, ambiguousIdentity: identity });
    assert.deepEqual(decided.map((event) => event.type), ['DisputeOpened', 'FlaggedForReview']);
    assert.equal(stateAfter(decided, paying).review?.reason, 'dispute_opened');
  });

  test('a state stored before the field existed still evolves', () => {
    const { sharedIdentitiesFlagged: _omitted, ...older } = customerDecider.initialState;
    const state = customerDecider.evolve(older, domainEvent('FlaggedForReview', { reason: 'ambiguous_identity', from: 'lead', cause: { type: 'LeadCaptured', occurredAt: NOW }, identity }));
    assert.deepEqual(state.sharedIdentitiesFlagged, ['email:ada@example.com']);
  });
});
