import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Stripe from 'stripe';
import { createStripeSource } from '../../services/ingest/stripe/stripeSource.ts';
import type { Translation } from '../../services/ingest/webhookSource.ts';
import { basilInvoice, fixture, rawFixture, subscriptionEvent, type Json } from '../support/stripeEvents.ts';

// The Stripe translator on the real (unedited) fixtures and on variants derived from them in
// code: pure, no HTTP, no store.


const source = createStripeSource(['whsec_unit']);
const translate = (event: Json | Buffer): Translation => source.translate(source.parse(Buffer.isBuffer(event) ? event : Buffer.from(JSON.stringify(event))));
const only = (translation: Translation) => {
  assert.equal(translation.facts.length, 1, JSON.stringify(translation));
  return translation.facts[0]!;
};

const EVT = 'evt_000000000000000000000000';
const CUS = 'cus_00000000000000';
const SUB = 'sub_000000000000000000000000';
const CH = 'ch_000000000000000000000000';
const PI = 'pi_000000000000000000000000';
const IN = 'in_000000000000000000000000';
const monthlyPlan = { priceId: 'price_000000000000000000000000', productId: 'prod_00000000000000', interval: 'month', intervalCount: 1 };
const subscriptionClaims = [
  { kind: 'stripe', externalId: CUS },
  { kind: 'stripe_subscription', externalId: SUB },
];

describe('Stripe fixtures (API 2020-08-27) translate to the facts they state', () => {
  test('customer.subscription.created (active) -> SubscriptionActivated with plan and MRR', () => {
    assert.deepEqual(translate(rawFixture('customer.subscription.created')), {
      facts: [
        {
          sourceEventId: EVT,
          sourceType: 'customer.subscription.created',
          identities: subscriptionClaims,
          createIfMissing: true,
          fact: {
            type: 'SubscriptionActivated',
            schemaVersion: 1,
            data: { occurredAt: '2022-03-26T18:41:50.000Z', subscriptionId: SUB, plan: monthlyPlan, mrrCents: 1500, currency: 'usd' },
          },
        },
      ],
      ignored: [],
    });
  });

  test('customer.subscription.updated without a status change -> SubscriptionChanged snapshot', () => {
    const { fact, identities } = only(translate(rawFixture('customer.subscription.updated')));
    assert.deepEqual(identities, subscriptionClaims);
    assert.deepEqual(fact, {
      type: 'SubscriptionChanged',
      schemaVersion: 1,
      data: {
        occurredAt: '2022-03-26T18:41:46.000Z',
        subscriptionId: SUB,
        plan: monthlyPlan,
        mrrCents: 1500,
        currency: 'usd',
        status: 'active',
        cancelAtPeriodEnd: false,
      },
    });
  });

  test('customer.subscription.deleted -> SubscriptionCanceled', () => {
    const { fact } = only(translate(rawFixture('customer.subscription.deleted')));
    assert.deepEqual(fact.data, { occurredAt: '2022-03-26T18:41:37.000Z', subscriptionId: SUB });
    assert.equal(fact.type, 'SubscriptionCanceled');
  });

  test('invoice.paid -> PaymentSucceeded, claiming its invoice, charge and payment intent for later refunds', () => {
    const { fact, identities, createIfMissing } = only(translate(rawFixture('invoice.paid')));
    assert.equal(createIfMissing, true);
    assert.deepEqual(identities, [
      { kind: 'stripe', externalId: CUS },
      { kind: 'stripe_invoice', externalId: IN },
      { kind: 'stripe_charge', externalId: CH },
      { kind: 'stripe_payment_intent', externalId: PI },
    ]);
    assert.deepEqual(fact, {
      type: 'PaymentSucceeded',
      schemaVersion: 2,
      data: {
        occurredAt: '2022-03-26T18:40:15.000Z',
        invoiceId: IN,
        chargeId: CH,
        paymentIntentId: PI,
        amountCents: 2000,
        currency: 'usd',
        // A one-time price: a plan without a cadence.
        plan: { priceId: 'price_000000000000000000000000', productId: 'prod_00000000000000' },
      },
    });
  });

  test('invoice.payment_failed -> PaymentFailed for the amount due', () => {
    const { fact } = only(translate(rawFixture('invoice.payment_failed')));
    assert.deepEqual(fact, {
      type: 'PaymentFailed',
      schemaVersion: 1,
      data: { occurredAt: '2022-03-26T18:40:09.000Z', invoiceId: IN, chargeId: CH, paymentIntentId: PI, amountCents: 2000, currency: 'usd', attemptCount: 1, billingReason: 'manual' },
    });
  });

  test('charge.refunded without a customer -> RefundIssued that may not create a customer', () => {
    const { fact, identities, createIfMissing } = only(translate(rawFixture('charge.refunded')));
    assert.equal(createIfMissing, false);
    assert.deepEqual(identities, [{ kind: 'stripe_charge', externalId: CH }]);
    assert.deepEqual(fact.data, {
      occurredAt: '2022-03-26T18:39:09.000Z',
      chargeId: CH,
      refundId: 're_000000000000000000000000',
      chargeAmountCents: 100,
      refundedAmountCents: 100,
      currency: 'usd',
    });
  });

  test('checkout.session.completed (mode payment, paid) -> the typed details and the payment, as two keyed facts', () => {
    const { facts, ignored } = translate(rawFixture('checkout.session.completed'));
    assert.deepEqual(ignored, []);
    assert.deepEqual(
      facts.map((f) => [f.sourceEventId, f.fact.type]),
      [
        [EVT, 'CustomerProfileUpdated'],
        [`${EVT}:PaymentSucceeded`, 'PaymentSucceeded'],
      ],
    );
    assert.deepEqual(facts[0]!.fact.data, { occurredAt: '2022-03-26T18:39:19.000Z', email: 'stripe@example.com' });
    assert.deepEqual(facts[1]!.fact.data, { occurredAt: '2022-03-26T18:39:19.000Z', paymentIntentId: PI, amountCents: 3000, currency: 'usd' });
    assert.deepEqual(facts[0]!.identities, [
      { kind: 'stripe', externalId: CUS },
      { kind: 'email', externalId: 'stripe@example.com' },
      { kind: 'stripe_payment_intent', externalId: PI },
    ]);
  });

  test('customer.created with no email, name or phone says nothing: ignored, not an empty profile', () => {
    assert.deepEqual(translate(rawFixture('customer.created')), {
      facts: [],
      ignored: [{ sourceEventId: EVT, reason: 'customer without email, name or phone' }],
    });
  });
});

// Variants derived from the fixtures in code.
const withItems = (items: Json[]): Json => {
  const event = fixture('customer.subscription.created');
  const template = event.data.object.items.data[0];
  event.data.object.items.data = items.map(({ price, quantity }) => ({ ...template, plan: null, price: { ...template.price, ...price }, quantity }));
  return event;
};
const recurring = (interval: string, interval_count = 1) => ({ interval, interval_count, usage_type: 'licensed' });

describe('subscription snapshots', () => {
  test('created while trialing -> TrialStarted with the trial end', () => {
    const { fact } = only(translate(subscriptionEvent('customer.subscription.created', { status: 'trialing', trial_end: 1_650_000_000 })));
    assert.equal(fact.type, 'TrialStarted');
    assert.equal((fact.data as { trialEndsAt?: string }).trialEndsAt, '2022-04-15T05:20:00.000Z');
  });

  test('updated from trialing to active -> SubscriptionActivated', () => {
    const { fact } = only(translate(subscriptionEvent('customer.subscription.updated', { status: 'active' }, { status: 'trialing' })));
    assert.equal(fact.type, 'SubscriptionActivated');
  });

  for (const status of ['past_due', 'unpaid', 'canceled', 'incomplete', 'paused']) {
    test(`updated to ${status} -> SubscriptionChanged carrying the status`, () => {
      const { fact } = only(translate(subscriptionEvent('customer.subscription.updated', { status }, { status: 'active' })));
      assert.equal(fact.type, 'SubscriptionChanged');
      assert.equal((fact.data as { status?: string }).status, status);
    });
  }

  test('a status Stripe adds later is acknowledged and ignored, not refused', () => {
    const translation = translate(subscriptionEvent('customer.subscription.updated', { status: 'hibernating' }, { status: 'active' }));
    assert.deepEqual(translation.facts, []);
    assert.match(translation.ignored[0]!.reason, /unknown subscription status/);
  });

  test('trial_will_end -> TrialWillEnd', () => {
    const { fact } = only(translate(subscriptionEvent('customer.subscription.trial_will_end', { status: 'trialing', trial_end: 1_650_000_000 })));
    assert.deepEqual(fact, {
      type: 'TrialWillEnd',
      schemaVersion: 1,
      data: { occurredAt: '2022-03-26T18:41:46.000Z', subscriptionId: SUB, trialEndsAt: '2022-04-15T05:20:00.000Z' },
    });
  });

  test('deleted with cancellation details keeps the reason', () => {
    const { fact } = only(translate(subscriptionEvent('customer.subscription.deleted', { status: 'canceled', cancellation_details: { reason: 'payment_failed' } })));
    assert.deepEqual(fact.data, { occurredAt: '2022-03-26T18:41:46.000Z', subscriptionId: SUB, reason: 'payment_failed' });
  });
});

describe('MRR: unit amount x quantity per item, normalised to a month, whole cents', () => {
  const mrrOf = (event: Json) => (only(translate(event)).fact.data as { mrrCents?: number }).mrrCents;
  const cases: Array<[string, Json[], number | undefined]> = [
    ['monthly, quantity 3', [{ price: { unit_amount: 1500, recurring: recurring('month') }, quantity: 3 }], 4500],
    ['yearly: a twelfth', [{ price: { unit_amount: 12_000, recurring: recurring('year') }, quantity: 1 }], 1000],
    ['every 3 months: a third', [{ price: { unit_amount: 3000, recurring: recurring('month', 3) }, quantity: 1 }], 1000],
    ['weekly: 52/12', [{ price: { unit_amount: 100, recurring: recurring('week') }, quantity: 3 }], 1300],
    ['daily: 365/12, rounded once', [{ price: { unit_amount: 10, recurring: recurring('day') }, quantity: 1 }], 304],
    ['fractional cents via unit_amount_decimal', [{ price: { unit_amount: null, unit_amount_decimal: '0.5', recurring: recurring('month') }, quantity: 1000 }], 500],
    [
      'items summed across cadences',
      [
        { price: { unit_amount: 1500, recurring: recurring('month') }, quantity: 1 },
        { price: { id: 'price_addon', unit_amount: 6000, recurring: recurring('year') }, quantity: 2 },
      ],
      2500,
    ],
    ['tiered price: unknown, left out', [{ price: { unit_amount: null, unit_amount_decimal: null, recurring: recurring('month') }, quantity: 1 }], undefined],
    ['metered price: unknown, left out', [{ price: { unit_amount: 5, recurring: { ...recurring('month'), usage_type: 'metered' } }, quantity: null }], undefined],
  ];
  for (const [name, items, expected] of cases) {
    test(name, () => assert.equal(mrrOf(withItems(items)), expected));
  }

  test('the plan is the first item, the legacy plan object when there is no price', () => {
    const event = fixture('customer.subscription.created');
    delete event.data.object.items.data[0].price;
    const { fact } = only(translate(event));
    assert.deepEqual((fact.data as { plan?: unknown }).plan, monthlyPlan);
    assert.equal((fact.data as { mrrCents?: number }).mrrCents, 1500);
  });
});

describe('invoices, before and after basil', () => {
  test('basil: subscription from parent.subscription_details, payment from payments, plan from pricing', () => {
    const { fact, identities } = only(translate(basilInvoice()));
    assert.deepEqual(fact.data, {
      occurredAt: '2022-03-26T18:40:15.000Z',
      invoiceId: IN,
      subscriptionId: SUB,
      paymentIntentId: 'pi_basil',
      amountCents: 2000,
      currency: 'usd',
      plan: { priceId: 'price_basil', productId: 'prod_basil' },
    });
    assert.deepEqual(identities, [
      { kind: 'stripe', externalId: CUS },
      { kind: 'stripe_invoice', externalId: IN },
      { kind: 'stripe_payment_intent', externalId: 'pi_basil' },
      { kind: 'stripe_subscription', externalId: SUB },
    ]);
  });

  test('basil without the payments list (not included by default) still names the invoice and subscription', () => {
    const event = basilInvoice();
    delete event.data.object.payments;
    const data = only(translate(event)).fact.data as Record<string, unknown>;
    assert.equal(data['subscriptionId'], SUB);
    assert.equal(data['paymentIntentId'], undefined);
  });

  test('basil payment with a charge rather than a payment intent', () => {
    const event = basilInvoice('invoice.payment_failed');
    event.data.object.payments.data = [{ status: 'failed', payment: { type: 'charge', charge: 'ch_basil' } }];
    const { fact } = only(translate(event));
    assert.equal(fact.type, 'PaymentFailed');
    assert.equal((fact.data as { chargeId?: string }).chargeId, 'ch_basil');
  });

  test('pre-basil subscription invoice names its subscription at the top level', () => {
    const event = fixture('invoice.paid');
    event.type = 'invoice.payment_succeeded';
    event.data.object.subscription = SUB;
    const data = only(translate(event)).fact.data as Record<string, unknown>;
    assert.equal(data['subscriptionId'], SUB);
  });

  test('the plan comes from the new price, not from the proration line for the unused time on the old one', () => {
    const event = fixture('invoice.paid');
    const [line] = event.data.object.lines.data;
    const oldPrice = { ...line, proration: true, amount: -500, price: { ...line.price, id: 'price_old' } };
    event.data.object.lines.data = [oldPrice, { ...line, price: { ...line.price, id: 'price_new' } }];
    assert.equal((only(translate(event)).fact.data as { plan?: { priceId: string } }).plan?.priceId, 'price_new');
  });

  test('a $0 paid invoice (a trial starting) is not a payment', () => {
    const event = fixture('invoice.paid');
    event.data.object.amount_paid = 0;
    assert.deepEqual(translate(event).facts, []);
  });

  test('customer_email becomes an identity, normalised', () => {
    const event = fixture('invoice.paid');
    event.data.object.customer_email = '  Jane.Doe@Example.COM ';
    assert.deepEqual(only(translate(event)).identities[1], { kind: 'email', externalId: 'jane.doe@example.com' });
  });
});

describe('customers, disputes, payment intents, checkout', () => {
  const customerEvent = (type: string, patch: Json, previous?: Json): Json => {
    const event = fixture('customer.created');
    event.type = type;
    Object.assign(event.data.object, patch);
    if (previous) event.data.previous_attributes = previous;
    return event;
  };

  test('customer.updated: name split into first and last; a removed phone is cleared; an invalid e-mail left out', () => {
    const event = customerEvent('customer.updated', { name: 'Ada  Lovelace King', phone: null, email: 'not-an-email' }, { phone: '+44 20 7946 0000' });
    const { fact, identities } = only(translate(event));
    assert.deepEqual(fact.data, { occurredAt: '2022-03-26T18:41:47.000Z', firstName: 'Ada', lastName: 'Lovelace King', phone: null });
    assert.deepEqual(identities, [{ kind: 'stripe', externalId: CUS }]);
  });

  test('customer.created with an e-mail -> profile and an e-mail identity', () => {
    const { fact, identities } = only(translate(customerEvent('customer.created', { email: 'Ada@Example.com', name: 'Ada' })));
    assert.deepEqual(fact.data, { occurredAt: '2022-03-26T18:41:47.000Z', email: 'ada@example.com', firstName: 'Ada' });
    assert.deepEqual(identities, [
      { kind: 'stripe', externalId: CUS },
      { kind: 'email', externalId: 'ada@example.com' },
    ]);
  });

  test('customer.deleted -> CustomerDeleted in stripe, for a customer we already know only', () => {
    const { fact, createIfMissing } = only(translate(customerEvent('customer.deleted', { deleted: true })));
    assert.deepEqual(fact, { type: 'CustomerDeleted', schemaVersion: 1, data: { occurredAt: '2022-03-26T18:41:47.000Z', deletedIn: 'stripe' } });
    assert.equal(createIfMissing, false);
  });

  test('charge.dispute.created -> DisputeOpened, found through the charge, never creating a customer', () => {
    const event = fixture('charge.refunded');
    event.type = 'charge.dispute.created';
    event.data.object = { id: 'dp_1', object: 'dispute', charge: CH, payment_intent: PI, amount: 100, currency: 'usd', reason: 'fraudulent', status: 'needs_response' };
    const { fact, identities, createIfMissing } = only(translate(event));
    assert.deepEqual(fact.data, { occurredAt: '2022-03-26T18:39:09.000Z', disputeId: 'dp_1', chargeId: CH, amountCents: 100, currency: 'usd', reason: 'fraudulent' });
    assert.deepEqual(identities, [
      { kind: 'stripe_charge', externalId: CH },
      { kind: 'stripe_payment_intent', externalId: PI },
    ]);
    assert.equal(createIfMissing, false);
  });

  const paymentIntent = (type: string, patch: Json = {}): Json => {
    const event = fixture('charge.refunded');
    event.type = type;
    event.data.object = { id: PI, object: 'payment_intent', amount: 3000, amount_received: 3000, currency: 'usd', customer: CUS, latest_charge: CH, invoice: null, ...patch };
    delete event.data.previous_attributes;
    return event;
  };

  test('payment_intent.succeeded outside an invoice -> PaymentSucceeded', () => {
    const { fact } = only(translate(paymentIntent('payment_intent.succeeded')));
    assert.deepEqual(fact.data, { occurredAt: '2022-03-26T18:39:09.000Z', paymentIntentId: PI, chargeId: CH, amountCents: 3000, currency: 'usd' });
  });

  test('payment_intent.payment_failed -> PaymentFailed with the decline code', () => {
    const event = paymentIntent('payment_intent.payment_failed', { amount_received: 0, last_payment_error: { code: 'card_declined', decline_code: 'insufficient_funds' } });
    const { fact } = only(translate(event));
    assert.equal(fact.type, 'PaymentFailed');
    assert.equal((fact.data as { failureCode?: string }).failureCode, 'insufficient_funds');
  });

  test('a payment intent that pays an invoice is left to the invoice events', () => {
    const translation = translate(paymentIntent('payment_intent.succeeded', { invoice: IN }));
    assert.deepEqual(translation.facts, []);
    assert.equal(translation.ignored.length, 1);
  });

  test('checkout in subscription mode records the typed details only: the subscription events decide activation', () => {
    const event = fixture('checkout.session.completed');
    Object.assign(event.data.object, { mode: 'subscription', subscription: SUB, payment_intent: null, customer_details: { email: 'x@example.com', name: 'Grace Hopper', phone: null } });
    const { fact, identities } = only(translate(event));
    assert.deepEqual(fact.data, { occurredAt: '2022-03-26T18:39:19.000Z', email: 'x@example.com', firstName: 'Grace', lastName: 'Hopper' });
    assert.deepEqual(identities.at(-1), { kind: 'stripe_subscription', externalId: SUB });
  });

  test('checkout paid asynchronously (payment_status unpaid) is no payment yet', () => {
    const event = fixture('checkout.session.completed');
    event.data.object.payment_status = 'unpaid';
    assert.deepEqual(
      translate(event).facts.map((f) => f.fact.type),
      ['CustomerProfileUpdated'],
    );
  });
});

describe('envelope and contract', () => {
  test('an unknown type is acknowledged and ignored whatever its object looks like', () => {
    const event = { id: 'evt_unknown', object: 'event', type: 'radar.early_fraud_warning.created', created: 1, livemode: false, data: { object: { id: 'issfr_1', weird: [1, 2] } } };
    assert.deepEqual(translate(event), { facts: [], ignored: [{ sourceEventId: 'evt_unknown', reason: 'unhandled event type radar.early_fraud_warning.created' }] });
  });

  test('a known type whose object breaks the contract -> LEDGER_VALIDATION naming the field path, no value', () => {
    const event = fixture('invoice.paid');
    event.data.object.amount_paid = 'twenty dollars';
    assert.throws(
      () => translate(event),
      (error: any) => {
        assert.equal(error.code, 'LEDGER_VALIDATION');
        assert.deepEqual(error.details.errors.map((e: { path: string }) => e.path), ['data.object.amount_paid']);
        assert.doesNotMatch(JSON.stringify(error.details), /twenty/);
        return true;
      },
    );
  });

  test('a body that is not JSON -> LEDGER_MALFORMED_JSON', () => {
    assert.throws(() => source.parse(Buffer.from('not json {')), { code: 'LEDGER_MALFORMED_JSON' });
  });

  test('occurredAt is the event `created` in whole seconds, not the object creation time', () => {
    const event = fixture('invoice.paid');
    event.created = 1_700_000_000;
    assert.equal(only(translate(event)).fact.data.occurredAt, '2023-11-14T22:13:20.000Z');
  });

  test('expanded references (objects instead of ids) read the same', () => {
    const event = fixture('invoice.paid');
    event.data.object.customer = { id: CUS, object: 'customer', email: null };
    event.data.object.charge = { id: CH, object: 'charge' };
    assert.deepEqual(only(translate(event)).identities, only(translate(rawFixture('invoice.paid'))).identities);
  });
});

describe('signature (the clock is the injected one)', () => {
  const payload = rawFixture('invoice.paid');
  const now = new Date('2026-03-01T12:00:00Z');
  const nowSeconds = now.getTime() / 1000;
  const verify = (headers: Record<string, string>, secrets = ['whsec_a', 'whsec_b']) =>
    createStripeSource(secrets).verify({ rawBody: payload, headers, method: 'POST', url: '/webhooks/stripe', now });
  const sign = (timestamp: number, secret = 'whsec_a') => ({
    'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: payload.toString('utf8'), secret, timestamp }),
  });

  test('accepted up to exactly 300 s old, stale at 301 s, by the injected clock', () => {
    assert.doesNotThrow(() => verify(sign(nowSeconds - 300)));
    assert.throws(() => verify(sign(nowSeconds - 301)), { code: 'LEDGER_SIGNATURE_STALE' });
  });

  test('a timestamp more than 300 s in the future is refused as stale too', () => {
    assert.doesNotThrow(() => verify(sign(nowSeconds + 300)));
    assert.throws(() => verify(sign(nowSeconds + 301)), { code: 'LEDGER_SIGNATURE_STALE' });
  });

  test('any configured secret verifies (rotation); none configured refuses everything', () => {
    assert.doesNotThrow(() => verify(sign(nowSeconds, 'whsec_b')));
    assert.throws(() => verify(sign(nowSeconds, 'whsec_c')), { code: 'LEDGER_SIGNATURE_INVALID' });
    assert.throws(() => verify(sign(nowSeconds), []), { code: 'LEDGER_SIGNATURE_INVALID' });
  });

  test('missing header, header without a timestamp, header without a v1 signature', () => {
    assert.throws(() => verify({}), { code: 'LEDGER_SIGNATURE_MISSING' });
    assert.throws(() => verify({ 'stripe-signature': 'v1=abc' }), { code: 'LEDGER_SIGNATURE_INVALID' });
    assert.throws(() => verify({ 'stripe-signature': `t=${nowSeconds}` }), { code: 'LEDGER_SIGNATURE_INVALID' });
  });
});
