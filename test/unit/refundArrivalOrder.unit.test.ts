import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FactEvent } from '../../contracts/domainEvents.ts';
import { customerDecider } from '../../domain/customerDecider.ts';
import { paymentKnownBefore, refundStanding } from '../../domain/refunds.ts';
import { admin, facts, override, permutations, recordFact, run, sampleFact, stateAfter } from './lifecycleFixtures.ts';
import { describeFacts, outcomesOfEveryOrder, seededRandom, shuffled, subscriptionView, twoSubscriptionLife, withFullRefund } from './subscriptionLives.ts';

// A refunded customer keeps access: the field report's first bug. Stripe's charge.refunded names
// the charge and its invoice, not the subscription, so a refund and the subscription's own facts
// are ordered apart; retried deliveries arrive in any order. Whatever the order (the refund
// overtaking the payment it refunds included), the customer ends where in-order delivery leaves
// them.

const lifecycleOf = (order: readonly FactEvent[]) => run(order.map(recordFact)).state.lifecycle;
const NOW_LATER = '2026-03-01T00:00:00Z';

const finalStates = (history: readonly FactEvent[]) => outcomesOfEveryOrder(history, lifecycleOf);

describe('a full refund and its payment, every arrival order, one final state', () => {
  const created = facts.subscriptionActivated(1);
  const paid = facts.paymentSucceeded(1);
  const refund = facts.chargeRefunded(5, 'in_1');

  test('a late invoice.paid older than the refund does not give the refunded customer access again', () => {
    // The invoice is of the subscription's own second, so it ties with its creation rather than
    // arriving stale: it used to be judged from before that second, over the refund.
    assert.equal(lifecycleOf([created, refund, paid]), 'refunded');
    assert.deepEqual([...finalStates([created, paid, refund]).keys()], ['refunded']);
  });

  test('refunded and canceled together: refunded in every order', () => {
    assert.deepEqual([...finalStates([created, paid, refund, facts.subscriptionCanceled(5)]).keys()], ['refunded']);
  });

  test('a renewal paid after the refund: active, also when the refund arrives last', () => {
    const renewal = facts.paymentSucceeded(30);
    assert.equal(lifecycleOf([created, paid, renewal, refund]), 'active');
    assert.deepEqual([...finalStates([created, paid, refund, renewal]).keys()], ['active']);
  });

  test('a renewal that failed after the refund leaves the customer refunded, in every order', () => {
    assert.deepEqual([...finalStates([created, paid, refund, facts.renewalFailed(30), facts.subscriptionChanged(30, 'past_due')]).keys()], ['refunded']);
  });

  test('a new subscription after the refund: the customer moves on, in every order', () => {
    const resubscribed = facts.subscriptionActivated(30, 'sub_2');
    assert.deepEqual([...finalStates([created, paid, refund, facts.subscriptionCanceled(5), resubscribed, facts.paymentSucceeded(30, 'sub_2')]).keys()], ['active']);
  });

  test('a refund in the same second as a renewal: refunded in either order (money back outranks money in)', () => {
    const renewal = facts.paymentSucceeded(5);
    assert.deepEqual([...finalStates([created, paid, refund, renewal]).keys()], ['refunded']);
  });

  test('a partial refund changes nothing, in every order', () => {
    const partial = facts.chargeRefunded(5, 'in_1', 1000);
    assert.deepEqual([...finalStates([created, paid, partial]).keys()], ['active']);
  });

  test('a customer who paid for a plan that ended, now on a trial of another, is refunded, not flagged', () => {
    const history = [created, paid, facts.subscriptionCanceled(3), facts.trialStarted(3, 'sub_2'), refund];
    assert.deepEqual([...finalStates(history).keys()], ['refunded']);
  });

  test('a refund of the second a late payment was made, of a customer who had paid before: refunded in every order, not flagged', () => {
    // Regression: only the newest payment was asked, and it was of the refund's own second (judged
    // from before it), so the first order flagged refund_without_payment and the other refunded.
    const finalPayment = facts.paymentSucceeded(5);
    const history = [created, paid, facts.subscriptionCanceled(3), facts.trialStarted(3, 'sub_2'), finalPayment, refund];
    assert.deepEqual([...finalStates(history).keys()], ['refunded']);
    assert.deepEqual(run(history.map(recordFact)).appended.filter((event) => event.type === 'FlaggedForReview'), []);
  });

  test('a refund with no payment known is money we never saw paid: a human looks, and a payment newer than it does not change that', () => {
    const alone = run([sampleFact('LeadCaptured', 0), refund, facts.subscriptionChanged(6, 'incomplete')].map(recordFact));
    assert.equal(alone.state.lifecycle, 'needs_review');
    assert.deepEqual(alone.appended.filter((event) => event.type === 'FlaggedForReview').map((event) => event.data.reason), ['refund_without_payment']);
    // In order the payment came after the flag too: it stays the human's.
    assert.equal(lifecycleOf([refund, facts.subscriptionActivated(30, 'sub_2'), facts.paymentSucceeded(30, 'sub_2')]), 'needs_review');
  });

  test('a refund of a one-off payment the ledger saw (an add-on invoice, a Checkout purchase) is not money never seen paid: a lead or a trial is refunded, never flagged, in every order; a partial one moves nothing', () => {
    const oneOff = facts.paymentSucceeded(2, null);
    const refundOfIt = facts.chargeRefunded(5, 'in_2');
    for (const first of [sampleFact('LeadCaptured', 0), facts.trialStarted(0)]) {
      const flags = (order: readonly FactEvent[]) => run(order.map(recordFact)).appended.filter((event) => event.type === 'FlaggedForReview');
      assert.deepEqual([...finalStates([first, oneOff, refundOfIt]).keys()], ['refunded'], first.type);
      assert.deepEqual(flags([first, oneOff, refundOfIt]), [], first.type);
      const partial = facts.chargeRefunded(5, 'in_2', 1000);
      const before = lifecycleOf([first, oneOff]);
      assert.deepEqual([...finalStates([first, oneOff, partial]).keys()], [before], first.type);
      assert.deepEqual(flags([first, oneOff, partial]), [], first.type);
    }
  });

  test('a refund that overtook the payment it refunds: flagged, then refunded when the payment arrives', () => {
    const { state, appended } = run([refund, created, paid].map(recordFact));
    assert.equal(state.lifecycle, 'refunded');
    assert.equal(state.review, null);
    const decisions = appended.flatMap((event) =>
      event.type === 'FlaggedForReview' ? [`flag ${event.data.reason}`] : event.type === 'LifecycleChanged' ? [`${event.data.from}->${event.data.to} (${event.data.cause.type})`] : [],
    );
    assert.deepEqual(decisions, ['flag refund_without_payment', 'needs_review->refunded (RefundIssued)']);
    // Refunded since the refund, as in order, not since the payment that arrived late.
    assert.equal(state.since, refund.data.occurredAt);
    assert.equal(state.since, run([created, paid, refund].map(recordFact)).state.since);
  });

  test('every arrival order of a subscription, its payment and the full refund: refunded, from a lead or a trial too', () => {
    for (const first of [sampleFact('LeadCaptured', 0), facts.trialStarted(0)]) {
      for (const order of permutations([created, paid, refund])) assert.equal(lifecycleOf([first, ...order]), 'refunded', describeFacts([first, ...order]));
    }
    // The payment arrives stale (its subscription spoke later) while the customer is under review.
    assert.equal(lifecycleOf([sampleFact('LeadCaptured', 0), refund, facts.subscriptionChanged(3, 'active'), paid]), 'refunded');
  });

  test('a refund that overtook its payment, then newer money: withdrawn to active when the older payment arrives', () => {
    const renewal = facts.paymentSucceeded(30);
    assert.equal(lifecycleOf([created, paid, refund, renewal]), 'active');
    const { state, appended } = run([refund, renewal, created, paid].map(recordFact));
    assert.equal(state.lifecycle, 'active');
    assert.deepEqual(
      appended.flatMap((event) => (event.type === 'LifecycleChanged' ? [`${event.data.from}->${event.data.to}`] : [])),
      ['needs_review->active'],
    );
  });

  test('a partial refund that overtook its payment: withdrawn to what the subscription makes the customer', () => {
    const partial = facts.chargeRefunded(5, 'in_1', 1000);
    assert.equal(lifecycleOf([created, paid, partial]), 'active');
    assert.equal(lifecycleOf([partial, created, paid]), 'active');
    assert.equal(lifecycleOf([partial, created, facts.subscriptionCanceled(3), paid]), 'canceled');
  });

  test('a subscriber refunded before any payment is known stays refunded when an older subscription speaks late', () => {
    // Canceled, then the refund (no payment known: the table refunds a subscriber), then another
    // subscription's words from before the refund: in order the refund came last.
    const order = [facts.subscriptionCanceled(3), refund, facts.subscriptionActivated(1, 'sub_2'), facts.paymentSucceeded(1, 'sub_2')];
    assert.equal(lifecycleOf([facts.subscriptionActivated(1, 'sub_2'), facts.paymentSucceeded(1, 'sub_2'), facts.subscriptionCanceled(3), refund]), 'refunded');
    const { state, appended } = run(order.map(recordFact));
    assert.equal(state.lifecycle, 'refunded');
    assert.deepEqual(
      appended.flatMap((event) => (event.type === 'LifecycleChanged' ? [`${event.data.from}->${event.data.to}`] : [])),
      ['lead->canceled', 'canceled->refunded'],
      'never active again on the way',
    );
  });

  test('under the refund flag, a fact that needs a human for its own reason replaces it: the payment does not withdraw it', () => {
    const lead = sampleFact('LeadCaptured', 0);
    const dispute = facts.disputeOpened(6, null);
    const inOrder = run([lead, created, paid, refund, dispute].map(recordFact)).state;
    assert.equal(inOrder.lifecycle, 'needs_review');
    const disputed = run([lead, refund, dispute, created, paid].map(recordFact)).state;
    assert.equal(disputed.lifecycle, 'needs_review');
    // The dispute of a refunded customer, as in order.
    assert.equal(disputed.review?.reason, 'dispute_opened');
    assert.equal(inOrder.review?.reason, 'dispute_opened');
    // Paid after its subscription was canceled: in order a human looks, and so here.
    const canceled = facts.subscriptionCanceled(2);
    const late = facts.paymentSucceeded(3);
    assert.equal(run([created, paid, canceled, late].map(recordFact)).state.review?.reason, 'payment_after_cancel');
    const flagged = run([lead, facts.chargeRefunded(5, 'in_3'), created, canceled, late].map(recordFact)).state;
    assert.equal(flagged.lifecycle, 'needs_review');
    assert.equal(flagged.review?.reason, 'payment_after_cancel');
  });

  test('a flag for another reason is not withdrawn by a payment', () => {
    const dispute = facts.disputeOpened(2);
    assert.equal(lifecycleOf([sampleFact('LeadCaptured', 0), dispute, refund, created, paid]), 'needs_review');
  });

  test('a dispute older than the refund, arriving after it, still needs a human', () => {
    const dispute = facts.disputeOpened(3);
    assert.equal(lifecycleOf([created, paid, refund, dispute]), 'needs_review');
    assert.equal(lifecycleOf([created, paid, dispute, refund]), 'needs_review');
  });

  test('generated lives with a refund, one or two subscriptions: in order, refunded unless paid again; in any order, the same', () => {
    const random = seededRandom(7);
    const failures: string[] = [];
    let lives = 0;
    while (lives < 150) {
      const single = lives % 2 === 0;
      const life = twoSubscriptionLife(random).inOrder.filter((fact) => !single || !('subscriptionId' in fact.data) || fact.data.subscriptionId === 'sub_a');
      const refunded = withFullRefund(life, random);
      if (refunded === null) continue;
      lives += 1;
      const { inOrder, expected } = refunded;
      const view = subscriptionView(inOrder);
      const finals = new Set<string>([lifecycleOf(inOrder)]);
      let orders = 0;
      while (orders < 20) {
        const order = shuffled(inOrder, random);
        orders += 1;
        finals.add(lifecycleOf(order));
        if (subscriptionView(order) !== view) finals.add(`view differs after ${describeFacts(order)}`);
      }
      if (lifecycleOf(inOrder) !== expected || finals.size > 1) failures.push(`${[...finals].join(' / ')}, expected ${expected}: ${describeFacts(inOrder)}`);
    }
    assert.deepEqual(failures, []);
  });
});

describe('a refund and then a dispute, every arrival order: a human looks, as in order', () => {
  test('generated lives with a full refund and a dispute after it end under review in any order', () => {
    const random = seededRandom(99);
    const failures: string[] = [];
    let lives = 0;
    while (lives < 100) {
      const refunded = withFullRefund(twoSubscriptionLife(random).inOrder, random);
      if (refunded === null) continue;
      lives += 1;
      const last = Math.max(...refunded.inOrder.map((fact) => new Date(fact.data.occurredAt).getUTCSeconds()));
      const history = [...refunded.inOrder, facts.disputeOpened(last + 1, null)];
      for (let orders = 0; orders < 20; orders += 1) {
        const order = shuffled(history, random);
        const lifecycle = lifecycleOf(order);
        if (lifecycle !== 'needs_review') failures.push(`${lifecycle}: ${describeFacts(order)}`);
      }
    }
    assert.deepEqual(failures.slice(0, 3), []);
  });
});

describe('a refund stands until newer money or a newer subscription', () => {
  const created = facts.subscriptionActivated(1);
  const paid = facts.paymentSucceeded(1);
  const refund = facts.chargeRefunded(5, 'in_1');

  test('stands, is overtaken by a later payment or subscription, and not by a one-off charge', () => {
    const after = (...events: FactEvent[]) => refundStanding(stateAfter(events));
    assert.equal(after(created, paid), 'none');
    assert.equal(after(created, paid, refund), 'stands');
    assert.equal(after(created, refund, paid), 'stands');
    assert.equal(after(created, paid, refund, facts.paymentSucceeded(30)), 'overtaken');
    assert.equal(after(created, paid, facts.paymentSucceeded(30), refund), 'overtaken');
    assert.equal(after(created, paid, refund, facts.trialStarted(30, 'sub_2')), 'overtaken');
    assert.equal(after(created, paid, refund, facts.paymentSucceeded(30, null)), 'stands');
    assert.equal(after(created, paid, facts.chargeRefunded(6, 'in_1', 1000)), 'none');
    // No payment known: it stands, until a subscription begins after it.
    assert.equal(after(created, refund), 'stands');
    assert.equal(after(created, refund, facts.trialStarted(30, 'sub_2')), 'overtaken');
  });

  test('a human who sets a refunded customer active again is not overruled by the billing facts that follow', () => {
    const goodwill = override({ action: 'set_state', to: 'active', reason: 'refund was a goodwill gesture; keeps the plan', actor: admin });
    const { state, appended } = run([recordFact(created), recordFact(paid), recordFact(refund), goodwill, recordFact(facts.subscriptionChanged(6, 'active')), recordFact(facts.paymentSucceeded(3))]);
    assert.equal(state.lifecycle, 'active');
    const moves = appended.flatMap((event) => (event.type === 'LifecycleChanged' ? [`${event.data.from}->${event.data.to}`] : []));
    assert.deepEqual(moves, ['lead->active', 'active->refunded', 'refunded->active']);
  });

  test('a move a fact made after the refund does not shield the customer from it; a human\'s does, in a basis stored before overriddenAt too', () => {
    // The renewal failed after the refund arrived first and before its subscription's first word.
    const failed = facts.renewalFailed(30);
    assert.equal(lifecycleOf([failed, refund, created, paid]), 'refunded');
    const goodwill = override({ action: 'set_state', to: 'active', reason: 'goodwill', actor: admin });
    const humanMoved = run([recordFact(created), recordFact(paid), recordFact(refund), goodwill]).state;
    assert.ok(humanMoved.overriddenAt);
    const { overriddenAt: _overriddenAt, ...legacy } = humanMoved;
    for (const basis of [humanMoved, legacy]) {
      assert.deepEqual(customerDecider.decide(recordFact(facts.subscriptionChanged(6, 'active')), basis, { now: NOW_LATER }), [facts.subscriptionChanged(6, 'active')]);
    }
  });

  test('a basis stored before the refund and payment times reads its last refund and payment', () => {
    const { paidAt, fullRefundAt, ...legacy } = stateAfter([created, paid, refund]);
    assert.equal(paidAt, paid.data.occurredAt);
    assert.equal(fullRefundAt, refund.data.occurredAt);
    assert.equal(refundStanding(legacy), 'stands');
    // Its next fact, a late copy of the paid invoice, leaves the customer refunded.
    const state = { ...legacy, lifecycle: 'refunded' as const };
    assert.deepEqual(customerDecider.decide(recordFact(paid), state, { now: '2026-03-01T00:00:00Z' }), [paid]);
  });

  test('a basis stored before the earliest subscription payment takes its newest as the earliest known', () => {
    const { firstSubscriptionPaidAt, ...legacy } = stateAfter([created, paid]);
    assert.equal(firstSubscriptionPaidAt, paid.data.occurredAt);
    const state = stateAfter([facts.subscriptionCanceled(3), facts.trialStarted(3, 'sub_2'), facts.paymentSucceeded(5)], legacy);
    assert.equal(state.firstSubscriptionPaidAt, paid.data.occurredAt);
    assert.equal(paymentKnownBefore(state, refund), true);
  });

  test('a basis stored before them takes an older payment without forgetting its newer last one', () => {
    const renewal = facts.paymentSucceeded(30);
    const { paidAt: _paidAt, fullRefundAt: _fullRefundAt, ...legacy } = stateAfter([created, renewal]);
    assert.equal(stateAfter([paid], legacy).paidAt, renewal.data.occurredAt);
    assert.equal(stateAfter([refund], legacy).fullRefundAt, refund.data.occurredAt);
  });
});
