import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { domainEvent, type FactEvent } from '../../contracts/domainEvents.ts';
import { at, facts, recordFact, run } from './lifecycleFixtures.ts';
import { ordersEndingElsewhere, outcomesOfEveryOrder, seededRandom, twoSubscriptionLife, withFullRefund } from './subscriptionLives.ts';

// A dispute always needs a human; which question (dispute_opened: money we saw paid is being
// clawed back; dispute_without_payment: money we never saw paid) must not depend on the order
// deliveries arrive in, nor on whether the refund of another charge arrived first. As Stripe
// sends it: charge.dispute.created names the charge, not the subscription.

const disputeOf = (second: number, invoiceId: string) =>
  domainEvent('DisputeOpened', { occurredAt: at(second), disputeId: `dp_${second}`, chargeId: `ch_${invoiceId}`, amountCents: 4900, currency: 'usd' });

const outcomeOf = (order: readonly FactEvent[]) => {
  const { state } = run(order.map(recordFact));
  const since = state.since === null ? '-' : state.since.slice(17, 19);
  return state.lifecycle === 'needs_review' ? `needs_review: ${state.review?.reason} since ${since} from ${state.review?.from}` : `${state.lifecycle} since ${since}`;
};
const outcomes = (history: readonly FactEvent[]) => [...outcomesOfEveryOrder(history, outcomeOf).keys()];

describe('a dispute, every arrival order, one question for the human', () => {
  const activated = facts.subscriptionActivated(1);
  const paid = facts.paymentSucceeded(1);

  test('the dispute overtaking the payment it disputes: dispute_opened once the payment arrives, since the dispute', () => {
    const dispute = disputeOf(6, 'in_1');
    assert.equal(outcomeOf([activated, dispute]), 'needs_review: dispute_without_payment since 06 from active', 'while no payment is known');
    assert.deepEqual(outcomes([activated, paid, dispute]), ['needs_review: dispute_opened since 06 from active']);
  });

  test('judged by the money, not by the state it arrives in: a customer on a trial add-on who paid for a plan', () => {
    const history = [facts.trialStarted(1, 'sub_a'), facts.trialStarted(1, 'sub_b'), facts.subscriptionChanged(2, 'active', 'sub_a'), facts.paymentSucceeded(2, 'sub_a'), facts.subscriptionCanceled(3, 'sub_a'), disputeOf(4, 'in_2')];
    assert.deepEqual(outcomes(history), ['needs_review: dispute_opened since 04 from trial']);
  });

  test('a dispute older than the refund of its charge, arriving after it: flagged in every order', () => {
    const history = [activated, paid, disputeOf(3, 'in_1'), facts.chargeRefunded(5, 'in_1')];
    assert.deepEqual(outcomes(history), ['needs_review: dispute_opened since 03 from active']);
  });

  test('a full refund that overtakes its payment, and a dispute of another charge: the dispute stands in every order', () => {
    const history = [activated, paid, facts.paymentSucceeded(2), disputeOf(3, 'in_2'), facts.chargeRefunded(5, 'in_1')];
    assert.deepEqual(outcomes(history), ['needs_review: dispute_opened since 03 from active']);
  });

  test('a dispute in the second of a partial refund of its charge, after a refund flag the arrival order raised was withdrawn: flagged in every order', () => {
    // Delivered first, the full refund of the first invoice flagged a lead; the partial refund of
    // the disputed charge began its second under that flag, which the first payment withdrew.
    const history = [activated, paid, facts.chargeRefunded(6, 'in_1'), facts.paymentSucceeded(8), disputeOf(9, 'in_8'), facts.chargeRefunded(9, 'in_8', 1000)];
    assert.deepEqual(outcomes(history), ['needs_review: dispute_opened since 09 from active']);
  });

  test('a one-off payment is money a dispute can be about', () => {
    assert.deepEqual(outcomes([facts.paymentSucceeded(1, null), disputeOf(4, 'in_1')]), ['needs_review: dispute_opened since 04 from lead']);
  });

  test('only a payment newer than the dispute: dispute_without_payment in every order', () => {
    assert.deepEqual(outcomes([activated, facts.paymentSucceeded(7), disputeOf(4, 'in_x')]), ['needs_review: dispute_without_payment since 04 from active']);
  });

  test('generated two-subscription lives with a dispute after one of the payments, some with a full refund: one outcome in any order', () => {
    const random = seededRandom(5);
    const failures: string[] = [];
    let lives = 0;
    while (lives < 150) {
      let history = twoSubscriptionLife(random).inOrder;
      if (lives % 2 === 1) history = withFullRefund(history, random)?.inOrder ?? history;
      const paidA = history.filter((fact) => fact.type === 'PaymentSucceeded' && fact.data.subscriptionId === 'sub_a');
      const disputed = paidA[Math.floor(random() * paidA.length)];
      if (disputed?.type !== 'PaymentSucceeded' || disputed.data.invoiceId === undefined) continue;
      lives += 1;
      const second = (fact: FactEvent) => new Date(fact.data.occurredAt).getUTCSeconds();
      const last = Math.max(...history.map(second));
      const dispute = disputeOf(second(disputed) + 1 + Math.floor(random() * (last - second(disputed) + 1)), disputed.data.invoiceId);
      const life = [...history, dispute].sort((x, y) => Date.parse(x.data.occurredAt) - Date.parse(y.data.occurredAt));
      failures.push(...ordersEndingElsewhere(life, outcomeOf, random));
    }
    assert.deepEqual(failures.slice(0, 3), []);
  });
});
