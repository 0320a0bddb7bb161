import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { domainEvent, type FactEvent } from '../../contracts/domainEvents.ts';
import { at, facts, permutations, recordFact, run } from './lifecycleFixtures.ts';
import { dated, describeFacts, outcomesOfEveryOrder, seededRandom, shuffled, subscriptionView, twoSubscriptionLife } from './subscriptionLives.ts';

// Stripe does not deliver a subscription's events in order, and a retried delivery can arrive
// days late. Whatever the arrival order of one subscription's facts, the customer must end
// where in-order delivery leaves it (DESIGN.md: an older snapshot never undoes a newer
// decision, and a newer fact must not be lost because the older ones then count as stale).

const inOrder = (history: readonly FactEvent[]) => run(history.map(recordFact)).state.lifecycle;

// Where every order leaves the customer, and since when: the state's date must not depend on the
// arrival order either (dated).
const finalStates = (history: readonly FactEvent[]) => outcomesOfEveryOrder(history, dated);

function assertConverges(history: readonly FactEvent[], expected: string) {
  assert.equal(inOrder(history), expected, 'control: in-order delivery');
  const finals = finalStates(history);
  assert.deepEqual([...finals.keys()], [dated(history)], `orders that end elsewhere: ${JSON.stringify([...finals])}`);
}

function assertViewConverges(history: readonly FactEvent[], orders: readonly (readonly FactEvent[])[] = permutations(history)): string {
  const expected = subscriptionView(history);
  const elsewhere = orders.filter((order) => subscriptionView(order) !== expected);
  assert.deepEqual(elsewhere.slice(0, 1).map((order) => `${subscriptionView(order)} after ${describeFacts(order)}`), [], `in order: ${expected}`);
  return expected;
}

// A trial that converts, fails a renewal and is canceled. Same-second pairs are what Stripe
// sends: the update to active with the paid invoice, the last failed retry with the deletion.
const trialToCancel = [
  facts.trialStarted(1),
  facts.subscriptionChanged(2, 'active'),
  facts.paymentSucceeded(2),
  facts.paymentFailed(3),
  facts.subscriptionCanceled(4),
];
const dunningToCancel = [
  facts.trialStarted(1),
  facts.trialWillEnd(2),
  facts.subscriptionChanged(3, 'active'),
  facts.paymentSucceeded(3),
  facts.paymentFailed(4),
  facts.subscriptionChanged(4, 'past_due'),
  facts.subscriptionCanceled(5),
];

describe('one subscription, every arrival order, one final state', () => {
  test(`created trialing, updated active + paid, payment failed, deleted: canceled in all ${permutations(trialToCancel).length} orders`, () => {
    assertConverges(trialToCancel, 'canceled');
  });

  test(`with a trial reminder and a past_due snapshot: canceled in all ${permutations(dunningToCancel).length} orders`, () => {
    assertConverges(dunningToCancel, 'canceled');
  });

  test('the final retry failing in the same second as the deletion', () => {
    assertConverges([facts.subscriptionActivated(1), facts.paymentSucceeded(1), facts.paymentFailed(2), facts.subscriptionChanged(2, 'past_due'), facts.paymentFailed(3), facts.subscriptionCanceled(3)], 'canceled');
  });

  test('the deletion delivered first: the lead had that subscription, so it ends canceled', () => {
    const { state, appended } = run([facts.subscriptionCanceled(4), ...trialToCancel.slice(0, 4)].map(recordFact));
    assert.equal(state.lifecycle, 'canceled');
    assert.equal(state.subscriptionId, 'sub_1', 'the cancellation names the subscription the customer had');
    assert.equal(state.subscriptionStatus, 'canceled');
    assert.equal(appended.filter((event) => event.type === 'LifecycleChanged').length, 1, 'the late facts are recorded and decide nothing');
  });

  test(`its plan, MRR, currency and start are the same in all ${permutations(dunningToCancel).length} orders, the deletion first included`, () => {
    // The deletion names no plan: the late facts, stale for the lifecycle, still tell its terms.
    const view = JSON.parse(assertViewConverges(dunningToCancel)) as { subscriptionSince: string; mrrCents: number; plan: unknown };
    assert.equal(view.subscriptionSince, facts.trialStarted(1).data.occurredAt);
    assert.equal(view.mrrCents, 4900);
    assert.notEqual(view.plan, null);
  });

  test('a trial reminder that overtakes the trial: trialing, with the newest trial end, in every order', () => {
    const extended = domainEvent('TrialWillEnd', { occurredAt: at(2), subscriptionId: 'sub_1', trialEndsAt: '2026-02-20T00:00:00Z' });
    const view = JSON.parse(assertViewConverges([facts.trialStarted(1), extended])) as { lifecycle: string; subscriptionStatus: string; trialEndsAt: string };
    assert.deepEqual([view.lifecycle, view.subscriptionStatus, view.trialEndsAt], ['trial', 'trialing', '2026-02-20T00:00:00Z']);
  });

  test('the last payment is the newest by source time, also when it arrives after the deletion', () => {
    const history = [facts.subscriptionActivated(1), facts.paymentFailed(2), facts.paymentSucceeded(3), facts.subscriptionCanceled(5)];
    const view = JSON.parse(assertViewConverges(history)) as { lastPayment: { occurredAt: string; outcome: string } };
    assert.deepEqual([view.lastPayment.occurredAt, view.lastPayment.outcome], [at(3), 'succeeded']);
  });

  test('a failed payment and the retry that paid it in the same second: the last payment succeeded, in every order', () => {
    const failed = facts.paymentFailed(4);
    const paid = facts.paymentSucceeded(4);
    assert.equal(failed.data.invoiceId, paid.data.invoiceId);
    const history = [facts.subscriptionActivated(1), failed, paid];
    const lastPayments = new Set(permutations(history).map((order) => JSON.stringify(run(order.map(recordFact)).state.lastPayment)));
    assert.deepEqual([...lastPayments].map((payment) => JSON.parse(payment).outcome), ['succeeded']);
  });

  test('a trial that ends without a payment method (paused): past due, not a trial for ever, in every order; resumed and paid: active', () => {
    // Stripe sends no invoice for a paused subscription: nothing else would end the trial.
    const paused = [facts.trialStarted(1), facts.trialWillEnd(10), facts.subscriptionChanged(14, 'paused')];
    assertConverges(paused, 'past_due');
    assertConverges([...paused, facts.subscriptionChanged(20, 'active'), facts.paymentSucceeded(20)], 'active');
  });

  test('a subscription that never started (incomplete, failed, expired) converges too', () => {
    assertConverges([facts.subscriptionChanged(1, 'incomplete'), facts.paymentFailed(1), facts.paymentFailed(2), facts.subscriptionChanged(3, 'incomplete_expired')], 'canceled');
  });

  // Every moment in the life above at which the customer could be looked at: the newest
  // instant so far is a subscription snapshot, a trial reminder or a cancellation.
  const life = [...dunningToCancel.slice(0, 6), facts.subscriptionChanged(5, 'active'), facts.paymentSucceeded(5), facts.subscriptionCanceled(6)];
  for (let length = 1; length <= 7; length += 1) {
    const prefix = life.slice(0, length);
    const newest = prefix.at(-1);
    if (newest?.type === 'PaymentSucceeded' || newest?.type === 'PaymentFailed') continue;
    test(`the life up to ${newest?.type} @${newest?.data.occurredAt.slice(17, 19)}: every order ends where in-order does`, () => {
      assertConverges(prefix, inOrder(prefix));
    });
  }

  // A lone renewal failure (Stripe's smart retries send invoice.payment_failed with no
  // subscription update) that reaches a customer we know nothing about yet. Regression: the
  // lead stayed a lead, because a failed first invoice (still a lead) and a failed renewal
  // (past_due) looked alike, and the older facts that would tell were then stale. The
  // invoice's billing_reason tells them apart.
  test('a lone renewal failure that overtakes the whole history: past_due in every order', () => {
    assertConverges([facts.subscriptionActivated(1), facts.paymentSucceeded(1), facts.renewalFailed(3)], 'past_due');
    assertConverges([facts.trialStarted(1), facts.subscriptionChanged(2, 'active'), facts.paymentSucceeded(2), facts.renewalFailed(4)], 'past_due');
  });

  test('a failed first invoice leaves a lead a lead, and a renewal failing after it still says past_due', () => {
    assert.equal(run([recordFact(facts.paymentFailed(1))]).state.lifecycle, 'lead');
    assertConverges([facts.subscriptionChanged(1, 'incomplete'), facts.paymentFailed(1), facts.subscriptionActivated(2), facts.paymentSucceeded(2), facts.renewalFailed(5)], 'past_due');
  });
});

// Upgrades that replace a subscription (a new one created, the old one canceled in the same
// second) and resubscriptions: two subscriptions' facts interleave. Regression: the old
// subscription's cancellation canceled the customer, and its late "active" took over from the
// new one. The older subscription's late facts are now superseded history.
describe('two subscriptions, every arrival order, one final state', () => {
  const OLD = 'sub_1';
  const NEW = 'sub_2';
  const finalSubscriptions = (history: readonly FactEvent[]) => new Set(permutations(history).map((order) => run(order.map(recordFact)).state.subscriptionId));

  test('an upgrade: the new subscription active, the old one canceled: active on the new one in every order', () => {
    const upgrade = [facts.subscriptionActivated(1, OLD), facts.paymentSucceeded(1, OLD), facts.subscriptionActivated(3, NEW), facts.paymentSucceeded(3, NEW), facts.subscriptionCanceled(3, OLD)];
    assertConverges(upgrade, 'active');
    assert.deepEqual([...finalSubscriptions(upgrade)], [NEW]);
  });

  test('an upgrade reported as a canceled snapshot of the old subscription', () => {
    assertConverges([facts.subscriptionActivated(1, OLD), facts.subscriptionActivated(3, NEW), facts.subscriptionChanged(3, 'canceled', OLD)], 'active');
  });

  test('a trial upgraded to a paid subscription', () => {
    assertConverges([facts.trialStarted(1, OLD), facts.subscriptionActivated(3, NEW), facts.paymentSucceeded(3, NEW), facts.subscriptionCanceled(3, OLD)], 'active');
  });

  test('a renewal failure of the old subscription delivered after the upgrade', () => {
    assertConverges([facts.subscriptionActivated(1, OLD), facts.paymentFailed(2, OLD), facts.subscriptionActivated(3, NEW), facts.subscriptionCanceled(3, OLD)], 'active');
  });

  test('an upgrade, then the new subscription canceled: canceled', () => {
    assertConverges([facts.subscriptionActivated(1, OLD), facts.subscriptionActivated(3, NEW), facts.subscriptionCanceled(3, OLD), facts.subscriptionCanceled(6, NEW)], 'canceled');
  });

  test('canceled, then resubscribed: active', () => {
    assertConverges([facts.subscriptionActivated(1, OLD), facts.subscriptionCanceled(2, OLD), facts.subscriptionActivated(3, NEW)], 'active');
  });
});

// Two subscriptions held at once: a main plan and an add-on (or a second plan). Regression: the
// customer followed only the subscription that spoke last, so the add-on's cancellation canceled
// a customer whose main plan was still running — the CRM showed churn and the app took their
// access away. Now the end of one subscription leaves the customer what the best remaining live
// one makes them, in every arrival order.
describe('subscriptions held side by side, every arrival order, one final state', () => {
  const MAIN = 'sub_main';
  const ADD_ON = 'sub_addon';
  const finals = (history: readonly FactEvent[]) => permutations(history).map((order) => run(order.map(recordFact)).state);

  test('the add-on canceled while the main plan runs: active, on the main plan, with its terms', () => {
    const history = [facts.subscriptionActivated(1, MAIN), facts.paymentSucceeded(1, MAIN), facts.subscriptionActivated(3, ADD_ON), facts.subscriptionCanceled(5, ADD_ON)];
    assertConverges(history, 'active');
    for (const state of finals(history)) {
      assert.equal(state.subscriptionId, MAIN);
      assert.equal(state.subscriptionStatus, 'active');
      assert.equal(state.mrrCents, 4900);
    }
  });

  test('the main plan canceled while the add-on runs: active, on the add-on', () => {
    const history = [facts.subscriptionActivated(1, MAIN), facts.subscriptionActivated(3, ADD_ON), facts.subscriptionCanceled(5, MAIN)];
    assertConverges(history, 'active');
    assert.deepEqual(new Set(finals(history).map((state) => state.subscriptionId)), new Set([ADD_ON]));
  });

  test('the paid plan canceled while a trial add-on runs: trial', () => {
    assertConverges([facts.subscriptionActivated(1, MAIN), facts.trialStarted(3, ADD_ON), facts.subscriptionCanceled(5, MAIN)], 'trial');
  });

  test('the add-on canceled while the main plan is past due: past_due', () => {
    assertConverges([facts.subscriptionActivated(1, MAIN), facts.subscriptionActivated(2, ADD_ON), facts.renewalFailed(3, MAIN), facts.subscriptionCanceled(5, ADD_ON)], 'past_due');
  });

  test('the add-on reported canceled by a subscription snapshot: active', () => {
    assertConverges([facts.subscriptionActivated(1, MAIN), facts.subscriptionChanged(3, 'active', ADD_ON), facts.subscriptionChanged(5, 'canceled', ADD_ON)], 'active');
  });

  test('both canceled: canceled', () => {
    assertConverges([facts.subscriptionActivated(1, MAIN), facts.subscriptionActivated(3, ADD_ON), facts.subscriptionCanceled(5, ADD_ON), facts.subscriptionCanceled(6, MAIN)], 'canceled');
  });

  test('an upgrade whose old plan had failed a renewal, then the new plan canceled: canceled', () => {
    assertConverges(
      [facts.subscriptionActivated(1, MAIN), facts.renewalFailed(2, MAIN), facts.subscriptionActivated(3, ADD_ON), facts.subscriptionCanceled(3, MAIN), facts.subscriptionCanceled(6, ADD_ON)],
      'canceled',
    );
  });

  test('the add-on canceled while a past_due snapshot of the main plan is the newest word on it: past_due', () => {
    assertConverges([facts.subscriptionActivated(1, MAIN), facts.subscriptionActivated(2, ADD_ON), facts.subscriptionChanged(3, 'past_due', MAIN), facts.subscriptionCanceled(5, ADD_ON)], 'past_due');
  });

  test('both canceled in the same second: canceled', () => {
    assertConverges([facts.subscriptionActivated(1, MAIN), facts.subscriptionActivated(3, ADD_ON), facts.subscriptionCanceled(5, ADD_ON), facts.subscriptionCanceled(5, MAIN)], 'canceled');
  });

  // The customer is what their best live subscription makes them, whichever spoke last.
  test('the add-on goes past due while the main plan is paid: active in every order', () => {
    assertConverges(
      [
        facts.subscriptionActivated(1, MAIN),
        facts.paymentSucceeded(1, MAIN),
        facts.subscriptionActivated(3, ADD_ON),
        facts.paymentSucceeded(3, ADD_ON),
        facts.renewalFailed(5, ADD_ON),
        facts.subscriptionChanged(5, 'past_due', ADD_ON),
      ],
      'active',
    );
  });

  test("the main plan's past-due word arriving after the add-on's paid invoice: active in every order", () => {
    // The order that once ended past_due: the add-on's invoice, then the main plan's start and
    // its failed renewal (judged on the main plan alone), then the add-on's own start (a tie).
    const history = [
      facts.subscriptionActivated(1, MAIN),
      facts.paymentSucceeded(1, MAIN),
      facts.renewalFailed(2, MAIN),
      facts.subscriptionChanged(2, 'past_due', MAIN),
      facts.subscriptionActivated(4, ADD_ON),
      facts.paymentSucceeded(4, ADD_ON),
    ];
    const [activated, paid, failed, pastDue, addOnActivated, addOnPaid] = history as [FactEvent, FactEvent, FactEvent, FactEvent, FactEvent, FactEvent];
    assert.equal(run([paid, addOnPaid, activated, failed, addOnActivated, pastDue].map(recordFact)).state.lifecycle, 'active');
    assertConverges(history, 'active');
  });

  test("a trial added beside a paid plan, the trial's word first: active in every order", () => {
    // The paid plan began before the trial, so its facts arrive as an older subscription's.
    assertConverges([facts.subscriptionActivated(1, MAIN), facts.paymentSucceeded(1, MAIN), facts.trialStarted(2, ADD_ON)], 'active');
  });

  test('generated two-subscription lives: in order, the best final status; in any order, the same state since the same time', () => {
    const random = seededRandom(7);
    const failures: string[] = [];
    for (let n = 0; n < 150; n += 1) {
      const { inOrder: history, expected } = twoSubscriptionLife(random);
      const finals = new Set([dated(history)]);
      for (let order = 0; order < 20; order += 1) finals.add(dated(shuffled(history, random)));
      if (inOrder(history) !== expected || finals.size > 1) failures.push(`${[...finals].join(' / ')}, expected ${expected}: ${describeFacts(history)}`);
    }
    assert.deepEqual(failures, []);
  });

  test('generated two-subscription lives: the current subscription, its terms and every snapshot are the same in any order', () => {
    const random = seededRandom(11);
    for (let n = 0; n < 150; n += 1) {
      const { inOrder: history } = twoSubscriptionLife(random);
      assertViewConverges(history, Array.from({ length: 20 }, () => shuffled(history, random)));
    }
  });

  test('the current subscription is the best live one, whichever spoke last', () => {
    // The add-on started later and its trial spoke last; the paid plan is what the customer is on.
    const history = [facts.subscriptionActivated(1, MAIN), facts.paymentSucceeded(1, MAIN), facts.trialStarted(4, ADD_ON)];
    assert.equal(JSON.parse(assertViewConverges(history)).subscriptionId, MAIN);
  });
});
