import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LIFECYCLE_STATES, type FactEvent } from '../../contracts/domainEvents.ts';
import { FACT_CASES, type FactCaseName, type ReviewableState } from '../../domain/lifecycleTable.ts';
import { orderingKey } from '../../domain/ordering.ts';
import { facts, historyTo, permutations, recordFact, run, sampleFact } from './lifecycleFixtures.ts';

// Stripe's `created` is whole seconds and one action emits several events in one second, in
// any delivery order. Same-second facts on one object must converge, whatever the order.

function finalStates(start: ReviewableState | 'needs_review', group: readonly FactEvent[]) {
  return new Set(permutations(group).map((order) => run(order.map(recordFact), historyTo(start)).state.lifecycle));
}

describe('same-second ties: every arrival order ends in the same state', () => {
  const S = 40;
  const scenarios: [string, ReviewableState, FactEvent[], string][] = [
    ['checkout: created, paid, updated', 'lead', [facts.subscriptionActivated(S), facts.paymentSucceeded(S), facts.subscriptionChanged(S, 'active')], 'active'],
    ['trial checkout: created, updated, $0 invoice', 'lead', [facts.trialStarted(S), facts.subscriptionChanged(S, 'trialing'), facts.paymentSucceeded(S, null)], 'trial'],
    [
      'renewal fails and a retry succeeds in the same second',
      'active',
      [facts.paymentFailed(S), facts.subscriptionChanged(S, 'past_due'), facts.paymentSucceeded(S), facts.subscriptionChanged(S, 'active')],
      'past_due',
    ],
    ['recovery: paid and updated to active', 'past_due', [facts.paymentSucceeded(S), facts.subscriptionChanged(S, 'active'), facts.subscriptionChanged(S, 'past_due')], 'active'],
    ['cancel with a refund', 'active', [facts.subscriptionCanceled(S), facts.refundIssued(S), facts.subscriptionChanged(S, 'canceled')], 'refunded'],
    ['an impossible payment beside a refund', 'canceled', [facts.paymentSucceeded(S), facts.refundIssued(S)], 'needs_review'],
    ['resubscription after a cancel', 'canceled', [facts.subscriptionActivated(S, 'sub_2'), facts.paymentSucceeded(S, 'sub_2')], 'active'],
  ];
  for (const [what, start, group, expected] of scenarios) {
    test(`${what}: ${start} -> ${expected} in all ${permutations(group).length} orders`, () => {
      assert.deepEqual([...finalStates(start, group)], [expected]);
    });
  }

  test('a same-second fact is not dropped (no strict "<")', () => {
    const { state } = run([facts.paymentFailed(S), facts.subscriptionCanceled(S)].map(recordFact), historyTo('active'));
    assert.equal(state.lifecycle, 'canceled');
  });

  test('each order decides each transition once, from where the customer is', () => {
    for (const order of permutations([facts.subscriptionActivated(S), facts.paymentSucceeded(S), facts.subscriptionChanged(S, 'active')])) {
      const { appended } = run(order.map(recordFact), historyTo('lead'));
      assert.deepEqual(
        appended.filter((event) => event.type === 'LifecycleChanged').map((event) => event.data),
        [{ from: 'lead', to: 'active', cause: { type: order[0]?.type, occurredAt: order[0]?.data.occurredAt, orderingKey: 'subscription:sub_1' } }],
      );
    }
  });

  // Every pair and triple of same-object fact cases, from every state, in every order.
  const sameObject = (Object.keys(FACT_CASES) as FactCaseName[]).filter((name) => orderingKey(sampleFact(name, S)) === 'subscription:sub_1');
  const combinations = (size: number, from = 0): FactCaseName[][] =>
    size === 0 ? [[]] : sameObject.slice(from).flatMap((name, index) => combinations(size - 1, from + index + 1).map((rest) => [name, ...rest]));
  for (const start of LIFECYCLE_STATES) {
    test(`${start}: all pairs and triples of same-second facts converge`, () => {
      for (const names of [...combinations(2), ...combinations(3)]) {
        const finals = finalStates(start, names.map((name) => sampleFact(name, S)));
        assert.equal(finals.size, 1, `${names.join(' + ')} from ${start} ended in ${[...finals].join(' / ')}`);
      }
    });
  }
});
