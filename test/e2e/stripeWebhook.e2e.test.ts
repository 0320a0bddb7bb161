import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DECISION_TYPES } from '../../contracts/domainEvents.ts';
import { REVIEW_WITHDRAWN } from '../../contracts/events/decisions.ts';
import { loadCustomer } from '../../services/commands/loadCustomer.ts';
import { renderTimeline } from '../../services/cli/events.ts';
import { timelineOf } from '../../services/operations/timeline.ts';
import { correlationTrail } from '../../services/telemetry/correlationTrail.ts';
import { databaseTargets, storedEvents } from '../support/databases.ts';
import {
  basilInvoice,
  fixture,
  FIXTURE_IDS,
  rawFixture,
  STRIPE_FIXTURES,
  subscriptionEvent,
  type Json,
  type StripeFixture,
} from '../support/stripeEvents.ts';
import { signedStripeHeaders } from '../support/stripeSigning.ts';
import { startTestApp, STRIPE_TEST_SECRET, type TestApp } from '../support/testApp.ts';
import { subscriptionViewOf } from '../unit/subscriptionLives.ts';

// POST /webhooks/stripe over HTTP (app.inject), signed exactly as Stripe signs, on every store.

const NOW = new Date('2026-03-01T12:00:00Z');
const NOW_SECONDS = NOW.getTime() / 1000;
const clock = () => NOW;

interface Delivery {
  secret?: string;
  timestamp?: number;
  headers?: Record<string, string | undefined>;
  // Send these bytes instead of the signed ones (tampering).
  send?: string | Buffer;
}

function deliver(t: TestApp, event: Json | string | Buffer, options: Delivery = {}) {
  const payload = typeof event === 'string' || Buffer.isBuffer(event) ? event : JSON.stringify(event);
  const headers: Record<string, string> = {
    ...signedStripeHeaders(payload.toString(), { secret: options.secret ?? STRIPE_TEST_SECRET, timestamp: options.timestamp ?? NOW_SECONDS }),
    // As Stripe sends it.
    'content-type': 'application/json; charset=utf-8',
  };
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value === undefined) delete headers[name];
    else headers[name] = value;
  }
  return t.app.inject({ method: 'POST', url: '/webhooks/stripe', headers, payload: options.send ?? payload });
}

// Gives a fixture (or a variant) its own event id and time, so several can be combined.
function stamped(event: Json, id: string, created?: number): Json {
  return { ...event, id, ...(created === undefined ? {} : { created }) };
}

async function customerOf(t: TestApp, stripeCustomerId: string) {
  const customerId = await t.db.store.resolveIdentity('stripe', stripeCustomerId);
  assert.ok(customerId, `no customer for ${stripeCustomerId}`);
  return loadCustomer(t.db.store, customerId);
}

async function inboxRows(t: TestApp) {
  const { rows } = await t.db.sql.query<{ outcome: string; source_event_ids: string[] }>('select outcome, source_event_ids from ledger_inbox order by id');
  return rows;
}

async function allEvents(t: TestApp) {
  return storedEvents(t.db);
}

async function streamCount(t: TestApp): Promise<number> {
  return new Set((await allEvents(t)).map((event) => event.streamId)).size;
}

// What a fixture, delivered alone to an empty ledger, appends and leaves the customer in.
const EXPECTED: Record<StripeFixture, { outcome: string; events: string[]; lifecycle?: string }> = {
  'charge.refunded': { outcome: 'unmatched', events: [] },
  'checkout.session.completed': {
    outcome: 'appended',
    events: ['IdentityLinked', 'IdentityLinked', 'CustomerProfileUpdated', 'PaymentSucceeded'],
    lifecycle: 'lead',
  },
  'customer.created': { outcome: 'ignored', events: [] },
  'customer.subscription.created': { outcome: 'appended', events: ['IdentityLinked', 'SubscriptionActivated', 'LifecycleChanged'], lifecycle: 'active' },
  'customer.subscription.deleted': { outcome: 'appended', events: ['IdentityLinked', 'SubscriptionCanceled', 'LifecycleChanged'], lifecycle: 'canceled' },
  'customer.subscription.updated': { outcome: 'appended', events: ['IdentityLinked', 'SubscriptionChanged', 'LifecycleChanged'], lifecycle: 'active' },
  'invoice.paid': { outcome: 'appended', events: ['IdentityLinked', 'PaymentSucceeded'], lifecycle: 'lead' },
  'invoice.payment_failed': { outcome: 'appended', events: ['IdentityLinked', 'PaymentFailed'], lifecycle: 'lead' },
};

// Nothing in a rejection may point at our internals.
const INTERNALS = /\/work\/|node_modules|\.ts\b|\bat [\w.<>]+ \(|\bselect\b|\binsert into\b|stack/i;

function seeded(seed: number) {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296;
  };
}

// One customer's Stripe history, in the order Stripe created it. Same-second pairs are on
// purpose (Stripe emits invoice.paid and the subscription update in one second).
function lifeOf(n: number): { customer: string; events: Json[]; finalState: string } {
  const customer = `cus_life${n}`;
  const sub = `sub_life${n}`;
  const t0 = 1_700_000_000 + n * 10_000;
  let seq = 0;
  const next = (event: Json, created: number) => stamped(event, `evt_life${n}_${(seq += 1)}`, created);
  const subscription = (type: string, status: string, created: number, previous?: Json) =>
    next(subscriptionEvent(type, { id: sub, customer, status, trial_end: status === 'trialing' ? t0 + 1_209_600 : null }, previous), created);
  const invoice = (type: 'invoice.paid' | 'invoice.payment_failed', created: number) => {
    const event = fixture(type);
    Object.assign(event.data.object, { id: `in_life${n}_${created}`, customer, subscription: sub, charge: `ch_life${n}_${created}`, payment_intent: `pi_life${n}_${created}` });
    return next(event, created);
  };
  switch (n % 3) {
    case 0:
      return {
        customer,
        finalState: 'active',
        events: [
          subscription('customer.subscription.created', 'trialing', t0),
          subscription('customer.subscription.trial_will_end', 'trialing', t0 + 50),
          subscription('customer.subscription.updated', 'active', t0 + 100, { status: 'trialing' }),
          invoice('invoice.paid', t0 + 100),
          subscription('customer.subscription.updated', 'past_due', t0 + 200, { status: 'active' }),
          invoice('invoice.payment_failed', t0 + 200),
          subscription('customer.subscription.updated', 'active', t0 + 300, { status: 'past_due' }),
          invoice('invoice.paid', t0 + 300),
        ],
      };
    case 1:
      return {
        customer,
        finalState: 'past_due',
        events: [
          subscription('customer.subscription.created', 'active', t0),
          invoice('invoice.paid', t0),
          next(subscriptionEvent('customer.subscription.updated', { id: sub, customer, status: 'active', cancel_at_period_end: true }, { cancel_at_period_end: false }), t0 + 50),
          next(subscriptionEvent('customer.subscription.updated', { id: sub, customer, status: 'active', cancel_at_period_end: false }, { cancel_at_period_end: true }), t0 + 60),
          invoice('invoice.payment_failed', t0 + 100),
          subscription('customer.subscription.updated', 'past_due', t0 + 100, { status: 'active' }),
          invoice('invoice.payment_failed', t0 + 150),
          subscription('customer.subscription.updated', 'unpaid', t0 + 200, { status: 'past_due' }),
        ],
      };
    default: {
      const trialInvoice = invoice('invoice.paid', t0);
      trialInvoice.data.object.amount_paid = 0;
      const profile = fixture('customer.created');
      profile.type = 'customer.updated';
      Object.assign(profile.data.object, { id: customer, email: `life${n}@example.com`, name: `Life Number${n}` });
      profile.data.previous_attributes = { email: null, name: null };
      return {
        customer,
        finalState: 'active',
        events: [
          subscription('customer.subscription.created', 'trialing', t0),
          trialInvoice,
          subscription('customer.subscription.trial_will_end', 'trialing', t0 + 50),
          invoice('invoice.paid', t0 + 100),
          subscription('customer.subscription.updated', 'active', t0 + 100, { status: 'trialing' }),
          next(profile, t0 + 120),
          next(basilInvoice('invoice.paid', { subscription: sub, customer, invoice: `in_life${n}_basil`, paymentIntent: `pi_life${n}_basil` }), t0 + 200),
        ],
      };
    }
  }
}

async function finalStates(t: TestApp, customers: string[]): Promise<Record<string, string>> {
  const states: Record<string, string> = {};
  for (const customer of customers) states[customer] = (await customerOf(t, customer)).state.lifecycle;
  return states;
}

// `lifecycle: { state, since }` as GET /v1/customers/stripe:<id> answers it: since when matters
// too (past_due's grace period runs from it).
async function customerLifecycles(t: TestApp, customers: string[]): Promise<Record<string, unknown>> {
  const lifecycles: Record<string, unknown> = {};
  for (const customer of customers) {
    const response = await t.app.inject({ method: 'GET', url: `/v1/customers/stripe:${customer}`, headers: { authorization: 'Bearer key-read' } });
    assert.equal(response.statusCode, 200, response.body);
    lifecycles[customer] = response.json().lifecycle;
  }
  return lifecycles;
}

// What the customer API shows of a customer's subscriptions (subscriptionViewOf).
async function subscriptionViews(t: TestApp, customers: string[]): Promise<Record<string, unknown>> {
  const views: Record<string, unknown> = {};
  for (const customer of customers) views[customer] = subscriptionViewOf((await customerOf(t, customer)).state);
  return views;
}

async function inBatches<T>(items: T[], size: number, run: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}

for (const target of databaseTargets) {
  describe(`POST /webhooks/stripe on ${target.name}`, async () => {
    const skip = await target.skip();
    const fresh = (env?: Record<string, string>) => startTestApp(target, { now: clock, ...(env ? { env } : {}) });

    describe('every fixture, signed, delivered once and then 100 more times (concurrently)', () => {
      for (const name of STRIPE_FIXTURES) {
        test(name, { skip }, async () => {
          const t = await fresh();
          try {
            const raw = rawFixture(name);
            const expected = EXPECTED[name];
            const first = await deliver(t, raw);
            assert.equal(first.statusCode, 200, first.body);
            const body = first.json();
            assert.equal(body.received, true);

            const events = await allEvents(t);
            assert.deepEqual(events.map((e) => e.type), expected.events);
            const [inbox, ...more] = await inboxRows(t);
            assert.equal(inbox?.outcome, expected.outcome);
            assert.equal(more.length, 0, 'one inbox row per delivery (kept with the append, not beside it)');
            const { rows: kept } = await t.db.sql.query<{ id: string }>('select id::text as id from ledger_inbox');
            assert.deepEqual(kept.map((r) => r.id), [body.inboxId], 'the receipt names the row');
            if (expected.lifecycle) {
              const customer = await customerOf(t, FIXTURE_IDS.customer);
              assert.equal(customer.state.lifecycle, expected.lifecycle);
              assert.ok(body.facts.every((f: { customerId?: string }) => f.customerId === customer.customerId));
              assert.ok(events.every((e) => e.metadata.source === 'stripe' && e.metadata.sourceEventId?.startsWith(FIXTURE_IDS.event)));
            }

            const again = await Promise.all(Array.from({ length: 100 }, () => deliver(t, raw)));
            assert.deepEqual(new Set(again.map((r) => r.statusCode)), new Set([200]));
            assert.deepEqual((await allEvents(t)).map((e) => e.eventId), events.map((e) => e.eventId), 'one set of events');
            assert.ok((await streamCount(t)) <= 1, 'one customer');
            for (const response of again) {
              for (const [index, fact] of response.json().facts.entries()) {
                assert.equal(fact.outcome, expected.outcome === 'unmatched' ? 'unmatched' : 'duplicate');
                assert.deepEqual(fact.eventIds, body.facts[index].eventIds, 'a re-delivery answers with the original events');
              }
            }
            // Every re-delivery is kept too, once, as what it now is.
            const outcomes = (await inboxRows(t)).map((r) => r.outcome);
            assert.equal(outcomes.length, 101);
            assert.deepEqual(new Set(outcomes.slice(1)), new Set([expected.outcome === 'appended' ? 'duplicate' : expected.outcome]));
          } finally {
            await t.close();
          }
        });
      }

      test('the fixture facts carry the payload values', { skip }, async () => {
        const t = await fresh();
        try {
          await deliver(t, rawFixture('customer.subscription.created'));
          const { state, events } = await customerOf(t, FIXTURE_IDS.customer);
          assert.equal(state.subscriptionId, FIXTURE_IDS.subscription);
          assert.equal(state.mrrCents, 1500);
          assert.equal(state.currency, 'usd');
          assert.equal(state.plan?.priceId, 'price_000000000000000000000000');
          assert.equal(state.since, '2022-03-26T18:41:50.000Z');
          assert.deepEqual(state.identities, [{ kind: 'stripe', externalId: FIXTURE_IDS.customer }]);
          assert.equal(events.find((e) => e.type === 'SubscriptionActivated')?.metadata.occurredAt, '2022-03-26T18:41:50.000Z');
        } finally {
          await t.close();
        }
      });
    });

    describe('stories across fixtures and derived variants', () => {
      let t: TestApp;
      before(async () => {
        if (!skip) t = await fresh();
      });
      after(async () => t?.close());

      test('subscribe, pay, refund (the refund names no customer: found through the charge), then a dispute', { skip }, async () => {
        const ok = async (event: Json) => assert.equal((await deliver(t, event)).statusCode, 200);
        await ok(stamped(fixture('customer.created'), 'evt_story_1'));
        await ok(stamped(fixture('customer.subscription.created'), 'evt_story_2'));
        await ok(stamped(fixture('invoice.paid'), 'evt_story_3'));
        assert.equal((await customerOf(t, FIXTURE_IDS.customer)).state.lifecycle, 'active');

        const refund = await deliver(t, stamped(fixture('charge.refunded'), 'evt_story_4', 1_648_320_200));
        assert.equal(refund.json().facts[0].outcome, 'appended');
        const refunded = await customerOf(t, FIXTURE_IDS.customer);
        assert.equal(refunded.state.lifecycle, 'refunded');
        assert.equal(refunded.state.lastRefund?.full, true);

        const dispute = stamped(fixture('charge.refunded'), 'evt_story_5', 1_648_320_300);
        dispute.type = 'charge.dispute.created';
        dispute.data = { object: { id: 'dp_story', object: 'dispute', charge: FIXTURE_IDS.charge, amount: 100, currency: 'usd', reason: 'fraudulent' } };
        assert.equal((await deliver(t, dispute)).statusCode, 200);
        const disputed = await customerOf(t, FIXTURE_IDS.customer);
        assert.equal(disputed.state.lifecycle, 'needs_review');
        assert.equal(disputed.state.review?.reason, 'dispute_opened');
        assert.equal(await streamCount(t), 1, 'one customer throughout');
      });

      test('a lead who paid a one-off invoice: its partial refund moves nothing, its full refund makes them refunded, never flagged as money never seen paid', { skip }, async () => {
        const customer = 'cus_oneoff_refund';
        const ok = async (event: Json) => assert.equal((await deliver(t, event)).statusCode, 200);
        const profile = stamped(fixture('customer.created'), 'evt_oneoff_1');
        profile.data.object.id = customer;
        profile.data.object.email = 'oneoff@example.com';
        await ok(profile);
        // The fixture's invoice is a manual one: no subscription anywhere in it.
        const invoice = stamped(fixture('invoice.paid'), 'evt_oneoff_2');
        Object.assign(invoice.data.object, { id: 'in_oneoff', customer, charge: 'ch_oneoff', payment_intent: 'pi_oneoff' });
        await ok(invoice);
        const refund = (id: string, refunded: number, created: number) => {
          const event = stamped(fixture('charge.refunded'), id, created);
          Object.assign(event.data.object, { id: 'ch_oneoff', amount: 2000, amount_refunded: refunded });
          return event;
        };
        await ok(refund('evt_oneoff_3', 500, 1_648_320_100));
        const partly = await customerOf(t, customer);
        assert.equal(partly.state.lifecycle, 'lead');
        assert.equal(partly.state.review, null);
        await ok(refund('evt_oneoff_4', 2000, 1_648_320_200));
        const refunded = await customerOf(t, customer);
        assert.equal(refunded.state.lifecycle, 'refunded');
        assert.equal(refunded.state.review, null);
      });

      test('past_due: an active subscription updated to past_due', { skip }, async () => {
        const customer = 'cus_pastdue';
        await deliver(t, stamped(subscriptionEvent('customer.subscription.created', { id: 'sub_pastdue', customer, status: 'active' }), 'evt_pd_1', 1_700_000_000));
        const response = await deliver(
          t,
          stamped(subscriptionEvent('customer.subscription.updated', { id: 'sub_pastdue', customer, status: 'past_due' }, { status: 'active' }), 'evt_pd_2', 1_700_000_100),
        );
        assert.equal(response.statusCode, 200);
        const { state, events } = await customerOf(t, customer);
        assert.equal(state.lifecycle, 'past_due');
        assert.equal(state.subscriptionStatus, 'past_due');
        assert.deepEqual(events.at(-1)?.data, { from: 'active', to: 'past_due', cause: { type: 'SubscriptionChanged', occurredAt: '2023-11-14T22:15:00.000Z', orderingKey: 'subscription:sub_pastdue' } });
      });

      test('trialing -> active', { skip }, async () => {
        const customer = 'cus_trial';
        await deliver(t, stamped(subscriptionEvent('customer.subscription.created', { id: 'sub_trial', customer, status: 'trialing', trial_end: 1_701_000_000 }), 'evt_tr_1', 1_700_000_000));
        const trial = await customerOf(t, customer);
        assert.equal(trial.state.lifecycle, 'trial');
        assert.equal(trial.state.trialEndsAt, '2023-11-26T12:00:00.000Z');
        await deliver(t, stamped(subscriptionEvent('customer.subscription.updated', { id: 'sub_trial', customer, status: 'active' }, { status: 'trialing' }), 'evt_tr_2', 1_701_000_000));
        const active = await customerOf(t, customer);
        assert.equal(active.state.lifecycle, 'active');
        assert.ok(active.events.some((e) => e.type === 'SubscriptionActivated'));
      });

      test('trialing -> paused (the trial ended without a payment method): past due, not a trial with access for ever', { skip }, async () => {
        const customer = 'cus_trial_paused';
        await deliver(t, stamped(subscriptionEvent('customer.subscription.created', { id: 'sub_paused', customer, status: 'trialing', trial_end: 1_701_000_000 }), 'evt_tp_1', 1_700_000_000));
        const paused = await deliver(t, stamped(subscriptionEvent('customer.subscription.updated', { id: 'sub_paused', customer, status: 'paused' }, { status: 'trialing' }), 'evt_tp_2', 1_701_000_000));
        assert.equal(paused.statusCode, 200, paused.body);
        const state = (await customerOf(t, customer)).state;
        assert.equal(state.lifecycle, 'past_due');
        assert.equal(state.since, '2023-11-26T12:00:00.000Z');
      });

      test('a basil-shaped invoice.paid activates the subscription it names under parent', { skip }, async () => {
        const event = stamped(basilInvoice('invoice.paid', { subscription: 'sub_basil', customer: 'cus_basil', invoice: 'in_basil' }), 'evt_basil_1');
        const response = await deliver(t, event);
        assert.equal(response.statusCode, 200);
        const { state, events } = await customerOf(t, 'cus_basil');
        assert.equal(state.lifecycle, 'active');
        assert.equal(state.subscriptionId, 'sub_basil');
        assert.equal(state.plan?.priceId, 'price_basil');
        assert.deepEqual(
          events.find((e) => e.type === 'PaymentSucceeded')?.data,
          {
            occurredAt: '2022-03-26T18:40:15.000Z',
            invoiceId: 'in_basil',
            subscriptionId: 'sub_basil',
            paymentIntentId: 'pi_basil',
            amountCents: 2000,
            currency: 'usd',
            plan: { priceId: 'price_basil', productId: 'prod_basil' },
          },
        );
        const { customerId } = await customerOf(t, 'cus_basil');
        assert.equal(await t.db.store.resolveIdentity('stripe_payment_intent', 'pi_basil'), customerId, 'a later refund of this payment finds the customer');
      });

      // Regression: a lone renewal failure reaching a customer before its subscription's
      // events left the customer a lead (a failed first invoice and a failed renewal looked alike).
      test('a renewal’s failed invoice that overtakes its subscription’s events: past_due, as in order', { skip }, async () => {
        const customer = 'cus_renewal_first';
        const failed = stamped(fixture('invoice.payment_failed'), 'evt_rf_2', 1_700_000_100);
        const invoice = (failed.data as { object: Record<string, unknown> }).object;
        Object.assign(invoice, { id: 'in_renewal', customer, subscription: 'sub_renewal', charge: null, payment_intent: null, billing_reason: 'subscription_cycle' });
        assert.equal((await deliver(t, failed)).statusCode, 200);
        const early = await customerOf(t, customer);
        assert.equal(early.state.lifecycle, 'past_due');
        assert.equal((early.events.find((e) => e.type === 'PaymentFailed')?.data as { billingReason?: string }).billingReason, 'subscription_cycle');

        await deliver(t, stamped(subscriptionEvent('customer.subscription.created', { id: 'sub_renewal', customer, status: 'active' }), 'evt_rf_1', 1_700_000_000));
        const { state } = await customerOf(t, customer);
        assert.equal(state.lifecycle, 'past_due', 'the older created event is recorded and decides nothing');
      });

      test('a subscription deleted before its created event arrives still ends canceled', { skip }, async () => {
        const customer = 'cus_deleted_first';
        const sub = { id: 'sub_deleted_first', customer };
        await deliver(t, stamped(subscriptionEvent('customer.subscription.deleted', { ...sub, status: 'canceled' }), 'evt_df_2', 1_700_000_100));
        await deliver(t, stamped(subscriptionEvent('customer.subscription.created', { ...sub, status: 'active' }), 'evt_df_1', 1_700_000_000));
        const { state, events } = await customerOf(t, customer);
        assert.equal(state.lifecycle, 'canceled');
        assert.equal(state.subscriptionId, 'sub_deleted_first');
        assert.deepEqual(events.map((e) => e.type), ['IdentityLinked', 'SubscriptionCanceled', 'LifecycleChanged', 'SubscriptionActivated'], 'the late created event is recorded, and decides nothing');
      });

      // Regression: a customer followed only the subscription that spoke last, so deleting an
      // add-on canceled a customer whose main plan still ran (and the app took their access).
      test('a plan and an add-on: deleting the add-on leaves the customer active on the plan, in either order', { skip }, async () => {
        for (const [label, order] of [['in order', [0, 1, 2]], ['deletion first', [2, 0, 1]]] as const) {
          const customer = `cus_addon_${label.replace(' ', '_')}`;
          const events = [
            stamped(subscriptionEvent('customer.subscription.created', { id: `sub_main_${customer}`, customer, status: 'active' }), `evt_${customer}_1`, 1_700_000_000),
            stamped(subscriptionEvent('customer.subscription.created', { id: `sub_addon_${customer}`, customer, status: 'active' }), `evt_${customer}_2`, 1_700_000_050),
            stamped(subscriptionEvent('customer.subscription.deleted', { id: `sub_addon_${customer}`, customer, status: 'canceled' }), `evt_${customer}_3`, 1_700_000_100),
          ];
          for (const index of order) assert.equal((await deliver(t, events[index]!)).statusCode, 200);
          const { state } = await customerOf(t, customer);
          assert.equal(state.lifecycle, 'active', label);
          assert.equal(state.subscriptionId, `sub_main_${customer}`, label);
          assert.equal(state.subscriptionStatus, 'active', label);
        }
      });

      test('a refund and the invoice it refunds, delivered in any order once the customer exists: refunded, never active again', { skip }, async () => {
        // Stripe emits invoice.paid in the subscription's own second; the refund comes later and
        // names the charge and invoice, not the subscription. A late invoice.paid used to take the
        // refunded customer back to active.
        const orders = [
          ['created, paid, refund', [0, 1, 2]],
          ['created, refund, paid', [0, 2, 1]],
          ['paid, created, refund', [1, 0, 2]],
          ['paid, refund, created', [1, 2, 0]],
        ] as const;
        for (const [label, order] of orders) {
          const n = label.replaceAll(', ', '_');
          const customer = `cus_refund_${n}`;
          const created = stamped(subscriptionEvent('customer.subscription.created', { id: `sub_refund_${n}`, customer, status: 'active' }), `evt_refund_${n}_1`, 1_700_000_000);
          const paid = stamped(fixture('invoice.paid'), `evt_refund_${n}_2`, 1_700_000_000);
          Object.assign(paid.data.object, { id: `in_refund_${n}`, customer, subscription: `sub_refund_${n}`, charge: `ch_refund_${n}`, payment_intent: `pi_refund_${n}` });
          const refund = stamped(fixture('charge.refunded'), `evt_refund_${n}_3`, 1_700_000_900);
          Object.assign(refund.data.object, { id: `ch_refund_${n}`, customer, invoice: `in_refund_${n}` });
          const events = [created, paid, refund];
          for (const index of order) assert.equal((await deliver(t, events[index]!)).statusCode, 200, label);
          const { state, events: stream } = await customerOf(t, customer);
          assert.equal(state.lifecycle, 'refunded', label);
          const moves = stream.flatMap((event) => {
            const data = event.data as { from?: string; to?: string };
            return event.type === 'LifecycleChanged' ? [`${data.from}->${data.to}`] : [];
          });
          assert.equal(moves.at(-1)?.endsWith('->refunded'), true, `${label}: ${moves.join(', ')}`);
          assert.ok(!moves.some((move) => move.startsWith('refunded->')), `${label}: ${moves.join(', ')}`);
        }
      });

      test('a final invoice declined after the cancellation, delivered before it: canceled, not past due', { skip }, async () => {
        const customer = 'cus_final_declined';
        const created = stamped(subscriptionEvent('customer.subscription.created', { id: 'sub_final', customer, status: 'active' }), 'evt_final_1', 1_700_300_000);
        const paid = stamped(fixture('invoice.paid'), 'evt_final_2', 1_700_300_000);
        Object.assign(paid.data.object, { id: 'in_final_first', customer, subscription: 'sub_final', charge: 'ch_final_first', payment_intent: 'pi_final_first' });
        const deleted = stamped(subscriptionEvent('customer.subscription.deleted', { id: 'sub_final', customer, status: 'canceled' }), 'evt_final_3', 1_700_300_300);
        const declined = stamped(fixture('invoice.payment_failed'), 'evt_final_4', 1_700_300_400);
        Object.assign(declined.data.object, { id: 'in_final_last', customer, subscription: 'sub_final', charge: 'ch_final_last', payment_intent: 'pi_final_last' });
        for (const event of [created, paid, declined, deleted]) assert.equal((await deliver(t, event)).statusCode, 200);
        const { state } = await customerOf(t, customer);
        assert.deepEqual([state.lifecycle, state.since, state.subscriptions?.sub_final?.status], ['canceled', new Date(1_700_300_300_000).toISOString(), 'canceled']);
      });

      test('a dispute delivered after a later partial refund of its charge: still flagged for a human', { skip }, async () => {
        // Stripe held the dispute's delivery back; the merchant refunded part of the charge
        // meanwhile. The refund's newer word on the charge used to make the dispute "stale":
        // recorded, and nobody asked to answer it.
        const customer = 'cus_dispute_late';
        const created = stamped(subscriptionEvent('customer.subscription.created', { id: 'sub_dispute_late', customer, status: 'active' }), 'evt_dispute_late_1', 1_700_200_000);
        const paid = stamped(fixture('invoice.paid'), 'evt_dispute_late_2', 1_700_200_000);
        Object.assign(paid.data.object, { id: 'in_dispute_late', customer, subscription: 'sub_dispute_late', charge: 'ch_dispute_late', payment_intent: 'pi_dispute_late' });
        const partial = stamped(fixture('charge.refunded'), 'evt_dispute_late_3', 1_700_200_900);
        Object.assign(partial.data.object, { id: 'ch_dispute_late', customer, invoice: 'in_dispute_late', amount: 4900, amount_refunded: 1000 });
        const dispute = stamped(fixture('charge.refunded'), 'evt_dispute_late_4', 1_700_200_300);
        dispute.type = 'charge.dispute.created';
        dispute.data = { object: { id: 'dp_late', object: 'dispute', charge: 'ch_dispute_late', amount: 3900, currency: 'usd', reason: 'fraudulent' } };
        for (const event of [created, paid, partial]) assert.equal((await deliver(t, event)).statusCode, 200);
        assert.equal((await customerOf(t, customer)).state.lifecycle, 'active', 'a partial refund moves nothing');
        assert.equal((await deliver(t, dispute)).statusCode, 200);
        const { state } = await customerOf(t, customer);
        assert.deepEqual([state.lifecycle, state.review?.reason, state.since], ['needs_review', 'dispute_opened', new Date(1_700_200_300_000).toISOString()]);
      });

      test("a renewal's first failure delivered after the retry's: past due since the first, and the app's grace period with it", { skip }, async () => {
        // Stripe retried the first failure's delivery for hours; the card retry failed meanwhile.
        const customer = 'cus_grace_late';
        const t0 = 1_700_100_000;
        const failed = (created: number) => {
          const event = stamped(fixture('invoice.payment_failed'), `evt_grace_failed_${created}`, created);
          Object.assign(event.data.object, { id: 'in_grace_renewal', customer, subscription: 'sub_grace', charge: `ch_grace_${created}`, payment_intent: 'pi_grace_renewal', billing_reason: 'subscription_cycle' });
          return event;
        };
        const pastDue = (created: number) =>
          stamped(subscriptionEvent('customer.subscription.updated', { id: 'sub_grace', customer, status: 'past_due' }, { status: 'active' }), `evt_grace_past_due_${created}`, created);
        const created = stamped(subscriptionEvent('customer.subscription.created', { id: 'sub_grace', customer, status: 'active' }), 'evt_grace_created', t0);
        const paid = stamped(fixture('invoice.paid'), 'evt_grace_paid', t0);
        Object.assign(paid.data.object, { id: 'in_grace_first', customer, subscription: 'sub_grace', charge: 'ch_grace_first', payment_intent: 'pi_grace_first' });
        const firstFailure = t0 + 86_400;
        const retryFailure = t0 + 3 * 86_400;
        for (const event of [created, paid, failed(retryFailure), pastDue(retryFailure)]) assert.equal((await deliver(t, event)).statusCode, 200);
        const late = await deliver(t, failed(firstFailure));
        assert.equal(late.statusCode, 200);
        assert.equal((await deliver(t, pastDue(firstFailure))).statusCode, 200);

        const answer = await t.app.inject({ method: 'GET', url: `/v1/customers/stripe:${customer}`, headers: { authorization: 'Bearer key-read' } });
        assert.deepEqual(answer.json().lifecycle, { state: 'past_due', since: new Date(firstFailure * 1000).toISOString() });
        await t.projector.catchUp();
        const access = await t.app.inject({ method: 'GET', url: `/v1/app/entitlements/stripe:${customer}`, headers: { authorization: 'Bearer key-read' } });
        assert.equal(access.statusCode, 200, access.body);
        assert.equal(Date.parse(access.json().graceEndsAt), (firstFailure + 7 * 86_400) * 1000, 'seven days from the first failure');
        // The decision that moved the date is in the customer's timeline and the delivery's trace.
        const { events: stream } = await customerOf(t, customer);
        const timeline = timelineOf((await t.db.store.resolveIdentity('stripe', customer))!, stream);
        assert.ok(timeline.entries.some((entry) => entry.type === 'LifecycleRedated' && entry.summary.startsWith('past_due re-dated to ')), JSON.stringify(timeline.entries.map((e) => e.summary)));
        const trail = await correlationTrail(t.db.sql, late.json().correlationId);
        assert.ok(trail.entries.some((entry) => entry.kind === 'decision' && entry.detail?.includes('a fact that arrived late came first')), JSON.stringify(trail.entries));
      });

      test('a refund that overtakes its invoice for a known customer: flagged, then refunded when the invoice arrives', { skip }, async () => {
        // customer.created made a lead; the refund finds it by its Stripe customer before the
        // subscription and its invoice, held back by Stripe's retries, arrive.
        const customer = 'cus_refund_overtakes';
        const profile = stamped(fixture('customer.created'), 'evt_overtakes_0', 1_699_999_000);
        Object.assign(profile.data.object, { id: customer, email: 'overtakes@example.com' });
        const created = stamped(subscriptionEvent('customer.subscription.created', { id: 'sub_overtakes', customer, status: 'active' }), 'evt_overtakes_1', 1_700_000_000);
        const paid = stamped(fixture('invoice.paid'), 'evt_overtakes_2', 1_700_000_000);
        Object.assign(paid.data.object, { id: 'in_overtakes', customer, subscription: 'sub_overtakes', charge: 'ch_overtakes', payment_intent: 'pi_overtakes' });
        const refund = stamped(fixture('charge.refunded'), 'evt_overtakes_3', 1_700_000_900);
        Object.assign(refund.data.object, { id: 'ch_overtakes', customer, invoice: 'in_overtakes' });
        for (const event of [profile, refund]) assert.equal((await deliver(t, event)).statusCode, 200);
        assert.equal((await customerOf(t, customer)).state.lifecycle, 'needs_review');
        assert.equal((await deliver(t, created)).statusCode, 200);
        const late = await deliver(t, paid);
        assert.equal(late.statusCode, 200);
        const { state, events: stream } = await customerOf(t, customer);
        assert.equal(state.lifecycle, 'refunded');
        // `ledger trace` on the late invoice and the customer's timeline say why the review ended.
        const trail = await correlationTrail(t.db.sql, late.json().correlationId);
        assert.ok(trail.entries.some((entry) => entry.kind === 'decision' && entry.detail === `needs_review -> refunded (${REVIEW_WITHDRAWN})`), JSON.stringify(trail.entries));
        const timeline = timelineOf((await t.db.store.resolveIdentity('stripe', customer))!, stream);
        assert.ok(timeline.entries.some((entry) => entry.summary === `needs_review → refunded (${REVIEW_WITHDRAWN})`));
        const decisions = stream.flatMap((event) => {
          const data = event.data as { from?: string; to?: string; reason?: string };
          return event.type === 'LifecycleChanged' ? [`${data.from}->${data.to}`] : event.type === 'FlaggedForReview' ? [`flagged ${data.reason}`] : [];
        });
        assert.deepEqual(decisions, ['flagged refund_without_payment', 'needs_review->refunded']);
      });

      test('text PostgreSQL cannot store (NUL, unpaired surrogates, in values and keys) is kept as U+FFFD: 200 and recorded, not a 500 on every retry', { skip }, async () => {
        const profile = stamped(fixture('customer.created'), 'evt_unstorable_1');
        Object.assign(profile.data.object, { id: 'cus_unstorable', email: 'nul@example.com', name: 'Ann\u0000Lee \ud800', metadata: { 'k\u0000': '\udc00x' } });
        const payload = JSON.stringify(profile);
        assert.match(payload, /\\u0000/, 'the escapes are in the signed bytes');
        const response = await deliver(t, payload);
        assert.equal(response.statusCode, 200, response.body);
        assert.equal(response.json().facts[0].outcome, 'appended');
        const customer = await customerOf(t, 'cus_unstorable');
        assert.equal(customer.state.profile.firstName, 'Ann\uFFFDLee');
        assert.equal(customer.state.profile.lastName, '\uFFFD');
        // The raw bytes are kept as they came, for a re-process.
        const { rows } = await t.db.sql.query<{ body: string }>(`select body from ledger_inbox where 'evt_unstorable_1' = any(source_event_ids)`);
        assert.equal(rows[0]?.body, payload);
      });

      test('a thin (API v2) event: 200, kept in the inbox as ignored with why, not a 400 Stripe retries for three days', { skip }, async () => {
        const head = (await storedEvents(t.db)).length;
        // As Stripe's docs show one: an ISO `created`, no `data.object`.
        const thin = {
          id: 'evt_test_65R9Ijk8dp9qqlx9Xbn16R9IBvRkN',
          object: 'v2.core.event',
          type: 'v1.billing.meter.error_report_triggered',
          created: '2024-09-17T06:20:52.246Z',
          related_object: { id: 'mtr_test_61R9IeFrqnq9ZDwnh41CJsqEFSbDPWDr', type: 'billing.meter', url: '/v1/billing/meters/mtr_test_61R9IeFrqnq9ZDwnh41CJsqEFSbDPWDr' },
          livemode: false,
        };
        const response = await deliver(t, thin);
        assert.equal(response.statusCode, 200, response.body);
        assert.match(response.json().ignored[0].reason, /^thin event v1\.billing\.meter\.error_report_triggered: the ledger reads snapshot events/);
        assert.equal((await storedEvents(t.db)).length, head);
        assert.deepEqual((await inboxRows(t)).at(-1), { outcome: 'ignored', source_event_ids: [thin.id] });
      });

      test('an unknown type: 200, kept in the inbox as ignored, nothing in any stream', { skip }, async () => {
        const head = (await storedEvents(t.db)).length;
        const event = { id: 'evt_unknown_1', object: 'event', type: 'issuing_card.created', created: 1_700_000_000, livemode: false, api_version: '2025-03-31.basil', data: { object: { id: 'ic_1' } } };
        const response = await deliver(t, event);
        assert.equal(response.statusCode, 200);
        assert.deepEqual(response.json().ignored, [{ sourceEventId: 'evt_unknown_1', reason: 'unhandled event type issuing_card.created' }]);
        assert.equal((await storedEvents(t.db)).length, head);
        const rows = await inboxRows(t);
        assert.deepEqual(rows.at(-1), { outcome: 'ignored', source_event_ids: ['evt_unknown_1'] });
      });
    });

    describe('refused deliveries: 4xx, the right code, problem+json, nothing stored', () => {
      let t: TestApp;
      before(async () => {
        if (!skip) t = await fresh();
      });
      after(async () => t?.close());

      const event = () => stamped(fixture('customer.subscription.created'), 'evt_refused');
      // The event with fields of its object set to what the contract refuses.
      const breaking = (fields: Record<string, unknown>) => (t: TestApp) => {
        const broken = event();
        Object.assign(broken.data.object, fields);
        return deliver(t, broken);
      };
      const cases: Array<{ name: string; status: number; code: string; send: (t: TestApp) => ReturnType<typeof deliver> }> = [
        {
          name: 'forged signature',
          status: 400,
          code: 'LEDGER_SIGNATURE_INVALID',
          send: (t) => deliver(t, event(), { headers: { 'stripe-signature': `t=${NOW_SECONDS},v1=${'ab'.repeat(32)}` } }),
        },
        { name: 'signed with a secret we do not hold', status: 400, code: 'LEDGER_SIGNATURE_INVALID', send: (t) => deliver(t, event(), { secret: 'whsec_attacker' }) },
        { name: 'stale: signed 301 s before now', status: 400, code: 'LEDGER_SIGNATURE_STALE', send: (t) => deliver(t, event(), { timestamp: NOW_SECONDS - 301 }) },
        { name: 'signed an hour before now', status: 400, code: 'LEDGER_SIGNATURE_STALE', send: (t) => deliver(t, event(), { timestamp: NOW_SECONDS - 3600 }) },
        { name: 'no Stripe-Signature header', status: 400, code: 'LEDGER_SIGNATURE_MISSING', send: (t) => deliver(t, event(), { headers: { 'stripe-signature': undefined } }) },
        {
          name: 'body changed after signing',
          status: 400,
          code: 'LEDGER_SIGNATURE_INVALID',
          send: (t) => {
            const signed = event();
            const tampered = structuredClone(signed);
            tampered.data.object.status = 'trialing';
            return deliver(t, signed, { send: JSON.stringify(tampered) });
          },
        },
        {
          name: 'body over the configured limit',
          status: 413,
          code: 'LEDGER_BODY_TOO_LARGE',
          send: (t) => deliver(t, { ...event(), padding: 'x'.repeat(t.config.http.bodyLimitBytes) }),
        },
        { name: 'signed garbage (not JSON)', status: 400, code: 'LEDGER_MALFORMED_JSON', send: (t) => deliver(t, '{"id": "evt_x", "type": ') },
        {
          name: 'a known type whose object breaks the contract',
          status: 400,
          code: 'LEDGER_VALIDATION',
          send: breaking({ customer: 42 }),
        },
        {
          // Milliseconds where Stripe sends seconds: past what a Date holds, it was a 500 on every retry.
          name: 'a time in milliseconds',
          status: 400,
          code: 'LEDGER_VALIDATION',
          send: (t) => deliver(t, { ...event(), created: NOW.getTime() }),
        },
        {
          name: 'a trial end past the year 9999',
          status: 400,
          code: 'LEDGER_VALIDATION',
          send: breaking({ trial_end: 1e14 }),
        },
        {
          name: 'wrong content type',
          status: 415,
          code: 'LEDGER_UNSUPPORTED_MEDIA_TYPE',
          send: (t) => deliver(t, event(), { headers: { 'content-type': 'text/plain' } }),
        },
      ];

      for (const c of cases) {
        test(c.name, { skip }, async () => {
          const head = (await storedEvents(t.db)).length;
          const inboxBefore = (await inboxRows(t)).length;
          const response = await c.send(t);
          assert.equal(response.statusCode, c.status, response.body);
          assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
          const problem = response.json();
          assert.equal(problem.code, c.code);
          assert.equal(problem.status, c.status);
          assert.doesNotMatch(response.body, INTERNALS);
          assert.equal((await storedEvents(t.db)).length, head, 'nothing appended');
          assert.equal((await inboxRows(t)).length, inboxBefore, 'nothing in the inbox');
        });
      }

      test('the schema error names the field path', { skip }, async () => {
        const problem = (await breaking({ customer: 42 })(t)).json();
        assert.ok(problem.errors.some((e: { path: string }) => e.path === 'data.object.customer'), JSON.stringify(problem));
      });

      test('exactly 300 s old is still accepted; a delivery signed with the previous (rotated) secret is accepted', { skip }, async () => {
        const boundary = await deliver(t, stamped(fixture('customer.subscription.created'), 'evt_boundary'), { timestamp: NOW_SECONDS - 300 });
        assert.equal(boundary.statusCode, 200, boundary.body);
        const rotated = await deliver(t, stamped(fixture('invoice.paid'), 'evt_rotated'), { secret: 'whsec_test_previous' });
        assert.equal(rotated.statusCode, 200, rotated.body);
        assert.equal(rotated.json().facts[0].outcome, 'appended');
      });

      test('the clock that judges staleness is the injected one, not the machine clock', { skip }, async () => {
        // Signed "now" by the real clock, which is years after the injected NOW.
        const response = await deliver(t, event(), { timestamp: Math.floor(Date.now() / 1000) });
        assert.equal(response.json().code, 'LEDGER_SIGNATURE_STALE');
      });

      test('no secret configured: every delivery is refused as invalid (fail closed)', { skip }, async () => {
        const unconfigured = await fresh({ STRIPE_WEBHOOK_SECRET: '' });
        try {
          const response = await deliver(unconfigured, event());
          assert.equal(response.statusCode, 400);
          assert.equal(response.json().code, 'LEDGER_SIGNATURE_INVALID');
          assert.equal((await storedEvents(unconfigured.db)).length, 0);
          assert.equal((await inboxRows(unconfigured)).length, 0);
        } finally {
          await unconfigured.close();
        }
      });
    });

    describe('idempotency and races', () => {
      test('two concurrent first deliveries for the same new Stripe customer create one customer', { skip }, async () => {
        const t = await fresh();
        try {
          const rounds = 20;
          await Promise.all(
            Array.from({ length: rounds }, async (_, n) => {
              const customer = `cus_race${n}`;
              const created = stamped(subscriptionEvent('customer.subscription.created', { id: `sub_race${n}`, customer, status: 'active' }), `evt_race${n}_a`, 1_700_000_000);
              const paid = stamped(fixture('invoice.paid'), `evt_race${n}_b`, 1_700_000_000);
              Object.assign(paid.data.object, { id: `in_race${n}`, customer, subscription: `sub_race${n}`, charge: `ch_race${n}`, payment_intent: `pi_race${n}` });
              const responses = await Promise.all([deliver(t, created), deliver(t, paid)]);
              assert.deepEqual(responses.map((r) => r.statusCode), [200, 200]);
              const owners = new Set(responses.map((r) => r.json().facts[0].customerId));
              assert.equal(owners.size, 1, `${customer}: both deliveries landed on one customer`);
              assert.equal((await customerOf(t, customer)).state.lifecycle, 'active');
            }),
          );
          assert.equal(await streamCount(t), rounds);
        } finally {
          await t.close();
        }
      });

      test('the fixtures as they are (one event id for all): the first recorded; another type under that id refused, nothing appended or kept; the first again is a duplicate', { skip }, async () => {
        const t = await fresh();
        try {
          const first = await deliver(t, rawFixture('checkout.session.completed'));
          assert.equal(first.statusCode, 200, first.body);
          const events = (await allEvents(t)).length;
          const kept = (await inboxRows(t)).length;
          // customer.created records nothing for the fixture's customer (ignored either way).
          const others = STRIPE_FIXTURES.filter((name) => name !== 'checkout.session.completed' && name !== 'customer.created');
          for (const name of others) {
            const response = await deliver(t, rawFixture(name));
            assert.equal(response.statusCode, 422, `${name}: ${response.body}`);
            assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
            const problem = response.json();
            assert.equal(problem.code, 'LEDGER_EVENT_ID_REUSED');
            assert.equal(problem.detail, `stripe event ${FIXTURE_IDS.event} is recorded as checkout.session.completed; this delivery is ${name}. A provider never reuses an event id: give each test payload its own`);
            assert.doesNotMatch(response.body, INTERNALS);
          }
          assert.equal((await allEvents(t)).length, events, 'nothing appended');
          assert.equal((await inboxRows(t)).length, kept, 'nothing kept');

          // Stripe's retries of the event itself, also with what changes between attempts.
          const retry = await deliver(t, rawFixture('checkout.session.completed'));
          assert.equal(retry.statusCode, 200, retry.body);
          assert.deepEqual(retry.json().facts.map((f: { outcome: string }) => f.outcome), ['duplicate', 'duplicate']);
          const later = await deliver(t, { ...fixture('checkout.session.completed'), pending_webhooks: 7 });
          assert.equal(later.statusCode, 200, later.body);
          assert.equal((await allEvents(t)).length, events);

          // The engineer reading the customer's timeline sees which Stripe event each fact came from.
          const { customerId, events: stream } = await customerOf(t, FIXTURE_IDS.customer);
          const timeline = timelineOf(customerId, stream);
          const payment = timeline.entries.find((entry) => entry.type === 'PaymentSucceeded')!;
          assert.equal(payment.sourceType, 'checkout.session.completed');
          const row = renderTimeline(timeline, false).split('\n').find((line) => line.includes('PaymentSucceeded'))!;
          assert.match(row, / stripe checkout\.session\.completed +evt_000000000000000000000000:\S+ +PaymentSucceeded /);
        } finally {
          await t.close();
        }
      });

      test('two events under one id delivered at once: one is recorded, the other refused and not kept, whichever wins', { skip }, async () => {
        const t = await fresh();
        try {
          await deliver(t, stamped(fixture('customer.subscription.created'), 'evt_shared_0'));
          for (let n = 1; n <= 10; n += 1) {
            const id = `evt_shared_${n}`;
            const paid = stamped(fixture('invoice.paid'), id, 1_700_000_000 + n);
            Object.assign(paid.data.object, { id: `in_shared_${n}`, charge: `ch_shared_${n}`, payment_intent: `pi_shared_${n}` });
            const failed = stamped(fixture('invoice.payment_failed'), id, 1_700_000_000 + n);
            Object.assign(failed.data.object, { id: `in_shared_${n}`, charge: `ch_shared_${n}`, payment_intent: `pi_shared_${n}` });
            const responses = await Promise.all([deliver(t, paid), deliver(t, failed)]);
            assert.deepEqual(responses.map((r) => r.statusCode).sort(), [200, 422], responses.map((r) => r.body).join('\n'));
            const winner = responses.find((r) => r.statusCode === 200)!.json();
            assert.equal(winner.facts[0].outcome, 'appended');
            const rows = (await inboxRows(t)).filter((row) => row.source_event_ids.includes(id));
            assert.deepEqual(rows.map((row) => row.outcome), ['appended'], `${id}: only the recorded delivery is kept`);
            const recorded = (await allEvents(t)).filter((e) => e.metadata.sourceEventId === id);
            assert.deepEqual(new Set(recorded.map((e) => e.metadata.sourceType)), new Set([responses[0]!.statusCode === 200 ? 'invoice.paid' : 'invoice.payment_failed']));
          }
        } finally {
          await t.close();
        }
      });

      test('200 deliveries for 20 customers, shuffled and 30 % duplicated -> the same final states as in order', { skip }, async () => {
        const lives = Array.from({ length: 20 }, (_, n) => lifeOf(n));
        const inOrder = lives.flatMap((life) => life.events);
        const random = seeded(20_260_301);
        const shuffled = [...inOrder, ...Array.from({ length: 200 - inOrder.length }, () => inOrder[Math.floor(random() * inOrder.length)]!)];
        assert.equal(shuffled.length, 200);
        assert.equal(Math.round((100 * (shuffled.length - inOrder.length)) / inOrder.length), 30, '30 % re-deliveries');
        for (let i = shuffled.length - 1; i > 0; i -= 1) {
          const j = Math.floor(random() * (i + 1));
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        const customers = lives.map((life) => life.customer);
        const expected = Object.fromEntries(lives.map((life) => [life.customer, life.finalState]));

        const factTypes = async (app: TestApp) => (await allEvents(app)).filter((e) => e.type !== 'IdentityLinked' && !(DECISION_TYPES as readonly string[]).includes(e.type)).length;
        let factsInOrder: number;
        let viewsInOrder: Record<string, unknown>;
        let lifecyclesInOrder: Record<string, unknown>;
        const ordered = await fresh();
        try {
          for (const event of inOrder) assert.equal((await deliver(ordered, event)).statusCode, 200);
          assert.deepEqual(await finalStates(ordered, customers), expected);
          factsInOrder = await factTypes(ordered);
          viewsInOrder = await subscriptionViews(ordered, customers);
          lifecyclesInOrder = await customerLifecycles(ordered, customers);
        } finally {
          await ordered.close();
        }

        const t = await fresh();
        try {
          await inBatches(shuffled, 8, async (event) => assert.equal((await deliver(t, event)).statusCode, 200));
          assert.deepEqual(await finalStates(t, customers), expected);
          assert.deepEqual(await subscriptionViews(t, customers), viewsInOrder, 'the same current subscription, terms and snapshots');
          assert.deepEqual(await customerLifecycles(t, customers), lifecyclesInOrder, 'each in the same state since the same time');
          assert.equal(await streamCount(t), 20);
          for (const customer of customers) {
            const { state } = await customerOf(t, customer);
            assert.deepEqual(state.identities.filter((i) => i.kind === 'stripe'), [{ kind: 'stripe', externalId: customer }]);
          }
          assert.equal(await factTypes(t), factsInOrder, 'each fact recorded once');
        } finally {
          await t.close();
        }
      });
    });
  });
}
