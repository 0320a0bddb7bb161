import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FactEvent } from '../../contracts/domainEvents.ts';
import { facts, recordFact, run } from './lifecycleFixtures.ts';
import { dated, ordersEndingElsewhere, outcomesOfEveryOrder, seededRandom, twoSubscriptionLife } from './subscriptionLives.ts';

// Money for a subscription after it ended (a final invoice, an open invoice paid late) needs a
// human when nothing else was live then (payment_after_cancel). Retried deliveries arrive in any
// order: the payment can come before its cancellation, another subscription's words before or
// after both. Whatever the order, the customer ends where in-order delivery leaves them.

const outcomeOf = (order: readonly FactEvent[]) => {
  const { state } = run(order.map(recordFact));
  return state.lifecycle === 'needs_review' ? `needs_review: ${state.review?.reason}` : state.lifecycle;
};

const outcomes = (history: readonly FactEvent[]) => outcomesOfEveryOrder(history, outcomeOf);

// 150 generated lives that cancel a subscription, each with `money` for it `delay()` seconds after
// the cancellation, in source-time order.
function livesWithMoneyAfterEnd(random: () => number, delay: () => number, money: (second: number, subscriptionId: string) => FactEvent): FactEvent[][] {
  const lives: FactEvent[][] = [];
  while (lives.length < 150) {
    const life = twoSubscriptionLife(random).inOrder;
    const cancellation = life.find((fact) => fact.type === 'SubscriptionCanceled');
    if (cancellation?.type !== 'SubscriptionCanceled') continue;
    const second = new Date(cancellation.data.occurredAt).getUTCSeconds() + delay();
    lives.push([...life, money(second, cancellation.data.subscriptionId)].sort((x, y) => Date.parse(x.data.occurredAt) - Date.parse(y.data.occurredAt)));
  }
  return lives;
}

// One subscription's life, ended at second 3: the money below comes after it.
const activated = facts.subscriptionActivated(1, 'sub_a');
const paid = facts.paymentSucceeded(1, 'sub_a');
const canceled = facts.subscriptionCanceled(3, 'sub_a');

describe('a payment after its subscription ended, every arrival order, one outcome', () => {
  const late = facts.paymentSucceeded(4, 'sub_a');

  test('nothing else live: a human looks, also when the payment arrives before the cancellation', () => {
    assert.deepEqual([...outcomes([activated, paid, canceled, late]).keys()], ['needs_review: payment_after_cancel']);
  });

  test('another subscription live when the payment was made: nothing to look at, in every order', () => {
    assert.deepEqual([...outcomes([activated, paid, facts.subscriptionActivated(2, 'sub_b'), canceled, late]).keys()], ['active']);
  });

  test('another subscription begun after the payment, or ended before it, does not cover it', () => {
    assert.deepEqual([...outcomes([activated, paid, canceled, late, facts.trialStarted(5, 'sub_b')]).keys()], ['needs_review: payment_after_cancel']);
    const ended = [activated, paid, facts.subscriptionActivated(2, 'sub_b'), facts.subscriptionCanceled(3, 'sub_b'), canceled, late];
    assert.deepEqual([...outcomes(ended).keys()], ['needs_review: payment_after_cancel']);
  });

  test('the subscription stays canceled whichever arrives first: the payment does not make it live again', () => {
    const inOrder = run([activated, paid, canceled, late].map(recordFact)).state;
    const paymentFirst = run([late, canceled, activated, paid].map(recordFact)).state;
    assert.equal(inOrder.subscriptions?.sub_a?.status, 'canceled');
    assert.equal(paymentFirst.subscriptions?.sub_a?.status, 'canceled');
  });

  test('generated two-subscription lives with a payment after a cancellation: every order ends as in order', () => {
    const random = seededRandom(7);
    const failures = livesWithMoneyAfterEnd(random, () => 1, facts.paymentSucceeded).flatMap((history) => ordersEndingElsewhere(history, outcomeOf, random));
    assert.deepEqual(failures.slice(0, 3), []);
  });
});

describe('a failed payment after its subscription ended (a final invoice declined), every arrival order, one outcome', () => {
  const declined = facts.paymentFailed(4, 'sub_a');

  test('canceled, also when the failure arrives before the cancellation (it used to leave the customer past due)', () => {
    assert.deepEqual([...outcomesOfEveryOrder([activated, paid, canceled, declined], dated).keys()], ['canceled since 03']);
  });

  test('the subscription stays canceled, and another that runs keeps the customer active', () => {
    const paymentFirst = run([declined, canceled, activated, paid].map(recordFact)).state;
    assert.equal(paymentFirst.subscriptions?.sub_a?.status, 'canceled');
    const withAnother = [activated, paid, facts.subscriptionActivated(2, 'sub_b'), facts.paymentSucceeded(2, 'sub_b'), canceled, declined];
    assert.deepEqual([...outcomesOfEveryOrder(withAnother, dated).keys()], ['active since 01']);
  });

  test('generated two-subscription lives with a declined payment after a cancellation: every order ends as in order, since the same time', () => {
    const random = seededRandom(5);
    const failures = livesWithMoneyAfterEnd(random, () => 1 + Math.floor(random() * 2), facts.paymentFailed).flatMap((history) => ordersEndingElsewhere(history, dated, random));
    assert.deepEqual(failures.slice(0, 3), []);
  });
});
