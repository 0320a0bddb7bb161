import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { domainEvent, type FactEvent } from '../../contracts/domainEvents.ts';
import { customerDecider, historyNeeded } from '../../domain/customerDecider.ts';
import { accessOf } from '../../projections/app/entitlementAccess.ts';
import { admin, at, facts, NOW, override, permutations, recordFact, run, stateAfter } from './lifecycleFixtures.ts';
import { dated, ordersEndingElsewhere, outcomesOfEveryOrder, seededRandom, twoSubscriptionLife, withFullRefund } from './subscriptionLives.ts';

// `since` dates the customer's state, and past_due's grace period runs from it: arrival order
// must not move it. A late billing fact is decided with the customer's recorded events and the
// state re-dated as in source-time order (domain/sinceInOrder.ts).

const everyOrder = (history: readonly FactEvent[]) => outcomesOfEveryOrder(history, dated);

describe('the state is dated as in source-time order, whatever the arrival order', () => {
  test("the invoice that activated a trial, overtaken by the subscription's later word: active since the invoice", () => {
    const history = [facts.trialStarted(1), facts.paymentSucceeded(3), facts.subscriptionChanged(5, 'active')];
    assert.equal(dated(history), 'active since 03');
    assert.deepEqual([...everyOrder(history).keys()], ['active since 03']);
  });

  test("a retry's failure overtaking the first failure: past due since the first, and the grace period with it", () => {
    const history = [
      facts.subscriptionActivated(1),
      facts.paymentSucceeded(1),
      facts.renewalFailed(3),
      facts.subscriptionChanged(3, 'past_due'),
      facts.renewalFailed(7),
    ];
    assert.deepEqual([...everyOrder(history).keys()], ['past_due since 03']);
    const graceEnds = new Set(permutations(history).map((order) => accessOf(run(order.map(recordFact)).state, null, 7).graceEndsAt));
    assert.deepEqual([...graceEnds], ['2026-02-08T00:00:03.000Z']);
  });

  test('an upgrade in one second (the old plan ended, the new begun): active since the first plan, no gap, in every order', () => {
    const history = [
      facts.subscriptionActivated(1, 'sub_a'),
      facts.paymentSucceeded(1, 'sub_a'),
      facts.subscriptionCanceled(4, 'sub_a'),
      facts.subscriptionActivated(4, 'sub_b'),
      facts.paymentSucceeded(4, 'sub_b'),
    ];
    assert.deepEqual([...everyOrder(history).keys()], ['active since 01']);
  });

  test('a canceled customer dated by the cancellation, not by a late payment of the same life', () => {
    const history = [facts.subscriptionActivated(1), facts.paymentSucceeded(2), facts.subscriptionCanceled(6)];
    assert.deepEqual([...everyOrder(history).keys()], ['canceled since 06']);
  });

  test('refunded since the refund, in every order', () => {
    const history = [facts.subscriptionActivated(1), facts.paymentSucceeded(1), facts.subscriptionChanged(3, 'active'), facts.chargeRefunded(5, 'in_1')];
    assert.deepEqual([...everyOrder(history).keys()], ['refunded since 05']);
  });

  test('a customer left elsewhere by the arrival order until the last, newest fact: dated as in order all the same', () => {
    // The first failure arriving first leaves the customer a lead while the older facts come in
    // (each judged stale); the newest word then moves them, and would date them by itself.
    const history = [
      facts.subscriptionActivated(1),
      facts.paymentSucceeded(1),
      facts.paymentFailed(3),
      facts.subscriptionChanged(3, 'past_due'),
      facts.paymentFailed(4),
      facts.subscriptionChanged(5, 'unpaid'),
    ];
    assert.deepEqual([...everyOrder(history).keys()], ['past_due since 03']);
  });

  test('generated two-subscription lives, with and without a full refund: one state, one date, in any order', () => {
    const random = seededRandom(13);
    const failures: string[] = [];
    let lives = 0;
    while (lives < 200) {
      const life = twoSubscriptionLife(random).inOrder;
      const history = lives % 2 === 0 ? life : withFullRefund(life, random)?.inOrder;
      if (history === undefined) continue;
      lives += 1;
      failures.push(...ordersEndingElsewhere(history, dated, random));
    }
    assert.deepEqual(failures.slice(0, 3), []);
  });
});

describe('the re-dating decision', () => {
  const trial = facts.trialStarted(1);
  const paid = facts.paymentSucceeded(3);
  const active = facts.subscriptionChanged(5, 'active');

  test('appended after the late fact, naming the fact that moved the customer in order and the date it replaces', () => {
    const { appended, state } = run([active, trial, paid].map(recordFact));
    const redated = appended.filter((event) => event.type === 'LifecycleRedated');
    assert.deepEqual(redated, [
      domainEvent('LifecycleRedated', { lifecycle: 'active', previousSince: at(5), cause: { type: 'PaymentSucceeded', occurredAt: at(3), orderingKey: 'subscription:sub_1' } }),
    ]);
    assert.equal(appended.at(-1)?.type, 'LifecycleRedated', 'in the late fact’s own append');
    assert.equal(state.since, at(3));
  });

  test('asked for only when a billing fact sorts before one the customer has', () => {
    const state = stateAfter(run([trial, active].map(recordFact)).appended);
    assert.equal(historyNeeded(recordFact(paid), state), true, 'older');
    assert.equal(historyNeeded(recordFact(facts.paymentSucceeded(9)), state), false, 'newer');
    assert.equal(historyNeeded(recordFact(domainEvent('TicketOpened', { occurredAt: at(2), ticketId: 'tk_1', subject: 'Hi', status: 'new', tags: [] })), state), false, 'moves no lifecycle');
    // Same second: an activation sorts before a cancellation (no gap in an upgrade).
    const canceledFirst = stateAfter(run([facts.subscriptionCanceled(5)].map(recordFact)).appended);
    assert.equal(historyNeeded(recordFact(facts.subscriptionActivated(5, 'sub_2')), canceledFirst), true);
    assert.equal(historyNeeded({ type: 'ApplyManualOverride', action: 'set_state', to: 'active', reason: 'r', actor: admin }, state), false);
  });

  test('once a fact arrived out of order, a newer fact that moves the customer is asked for too; one that moves nothing is not', () => {
    const inOrder = stateAfter(run([trial, paid].map(recordFact)).appended);
    const outOfOrder = stateAfter(run([paid, trial].map(recordFact)).appended);
    assert.notEqual(inOrder.arrivedOutOfOrder, true);
    assert.equal(outOfOrder.arrivedOutOfOrder, true);
    const pastDue = recordFact(facts.subscriptionChanged(8, 'past_due'));
    assert.equal(historyNeeded(pastDue, inOrder), false);
    assert.equal(historyNeeded(pastDue, outOfOrder), true);
    assert.equal(historyNeeded(recordFact(facts.subscriptionChanged(8, 'active')), outOfOrder), false, 'already active');
  });

  test('without the history (a caller that does not read it) the arrival order dates the state', () => {
    const state = stateAfter(run([active, trial].map(recordFact)).appended);
    assert.deepEqual(customerDecider.decide(recordFact(paid), state, { now: NOW }), [paid]);
  });

  test('a base stored before the source-order key still finds a late fact, by time', () => {
    const { appended } = run([active, trial].map(recordFact));
    const { lifecycleFactsThrough: _dropped, ...legacy } = stateAfter(appended);
    assert.equal(historyNeeded(recordFact(paid), legacy), true);
    const decided = customerDecider.decide(recordFact(paid), legacy, { now: NOW, history: appended });
    assert.deepEqual(decided.map((event) => event.type), ['PaymentSucceeded', 'LifecycleRedated']);
  });

  test('a human’s choice is not re-dated: after an override the late fact decides as before', () => {
    const { appended } = run([recordFact(active), override({ action: 'set_state', to: 'canceled', reason: 'asked to stop', actor: admin }), override({ action: 'set_state', to: 'active', reason: 'changed their mind', actor: admin })]);
    const state = stateAfter(appended);
    const decided = customerDecider.decide(recordFact(paid), state, { now: NOW, history: appended });
    assert.ok(!decided.some((event) => event.type === 'LifecycleRedated'), JSON.stringify(decided));
  });

  test("under review for a dispute, a late fact that changes where the customer was at the dispute re-bases the review: same question, same time", () => {
    const dispute = domainEvent('DisputeOpened', { occurredAt: at(5), disputeId: 'dp_5', chargeId: 'ch_in_1', amountCents: 4900, currency: 'usd' });
    const { appended } = run([facts.subscriptionActivated(1), facts.paymentSucceeded(1), dispute].map(recordFact));
    assert.equal(stateAfter(appended).review?.from, 'active');
    const late = facts.renewalFailed(3);
    const decided = customerDecider.decide(recordFact(late), stateAfter(appended), { now: NOW, history: appended });
    assert.deepEqual(decided, [
      late,
      domainEvent('LifecycleRedated', {
        lifecycle: 'needs_review',
        previousSince: at(5),
        cause: { type: 'DisputeOpened', occurredAt: at(5), orderingKey: 'charge:ch_in_1' },
        reviewFrom: 'past_due',
        previousReviewFrom: 'active',
      }),
    ]);
    const state = stateAfter(decided, stateAfter(appended));
    assert.deepEqual([state.lifecycle, state.since, state.review], ['needs_review', at(5), { reason: 'dispute_opened', from: 'past_due', flaggedAt: at(5) }]);
  });

  test('a customer under review is not re-dated (the review is dated by its flag, which a human answers)', () => {
    // In source-time order the earlier dispute would have flagged the customer at second 4.
    const { appended } = run([active, facts.disputeOpened(6)].map(recordFact));
    assert.equal(stateAfter(appended).lifecycle, 'needs_review');
    const decided = customerDecider.decide(recordFact(facts.disputeOpened(4)), stateAfter(appended), { now: NOW, history: appended });
    assert.deepEqual(decided.map((event) => event.type), ['DisputeOpened']);
  });
});
