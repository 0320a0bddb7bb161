import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FactEvent } from '../../contracts/domainEvents.ts';
import { appReadModel, defaultReadModelOptions, hasAccessAt, type AppEntitlements, type AppOptions } from '../../projections/readModels.ts';
import { asStored, day, fact, runReadModel, TestLedger, type Override } from './projectedEvents.ts';

const options: AppOptions = {
  pastDueGraceDays: 7,
  planFeatures: { price_pro: ['reports', 'export', 'api'], basic: ['reports'] },
};

const entitlementsAfter = (steps: (FactEvent | Override)[], opts = options): AppEntitlements => {
  const { docs } = runReadModel(appReadModel, opts, new TestLedger().history('cust_1', steps));
  const doc = docs.get('cust_1');
  assert.ok(doc);
  return doc;
};

describe('app entitlements: access per lifecycle', () => {
  const cases: { name: string; steps: (FactEvent | Override)[]; expect: Partial<AppEntitlements> }[] = [
    { name: 'lead', steps: [fact.lead(day(1))], expect: { lifecycle: 'lead', access: 'none', plan: null, features: [] } },
    {
      name: 'trial',
      steps: [fact.trialStarted(day(1), 'pro')],
      expect: { lifecycle: 'trial', access: 'full', graceEndsAt: null, plan: 'Pro Monthly', priceId: 'price_pro', features: ['reports', 'export', 'api'] },
    },
    { name: 'active (features by nickname)', steps: [fact.activated(day(1), 'basic')], expect: { lifecycle: 'active', access: 'full', plan: 'Basic', features: ['reports'] } },
    { name: 'active on a plan without features', steps: [fact.activated(day(1), 'team')], expect: { access: 'full', plan: 'price_team', features: [] } },
    {
      name: 'past_due: grace from the failure',
      steps: [fact.activated(day(1), 'pro'), fact.paymentFailed(day(5, 9))],
      expect: { lifecycle: 'past_due', access: 'grace', graceEndsAt: '2026-03-12T09:00:00.000Z', features: ['reports', 'export', 'api'] },
    },
    { name: 'canceled', steps: [fact.activated(day(1), 'pro'), fact.canceled(day(2))], expect: { lifecycle: 'canceled', access: 'none', plan: null, features: [] } },
    {
      name: 'refunded',
      steps: [fact.activated(day(1), 'pro'), fact.paid(day(1)), fact.refunded(day(2))],
      expect: { lifecycle: 'refunded', access: 'none', features: [] },
    },
    {
      name: 'needs_review for a dispute (a risk reason)',
      steps: [fact.activated(day(1), 'pro'), fact.paid(day(1)), fact.disputed(day(2))],
      expect: { lifecycle: 'needs_review', reviewReason: 'dispute_opened', access: 'none', features: [] },
    },
    {
      name: 'needs_review for a payment after a cancel (they paid)',
      steps: [fact.activated(day(1), 'pro'), fact.canceled(day(2)), fact.paid(day(3))],
      expect: { lifecycle: 'needs_review', reviewReason: 'payment_after_cancel', access: 'full', features: ['reports', 'export', 'api'] },
    },
    {
      name: 'needs_review by hand keeps what the customer had',
      steps: [fact.activated(day(1), 'pro'), { override: 'set_state', to: 'needs_review', at: day(2) }],
      expect: { lifecycle: 'needs_review', reviewReason: 'manual_review', access: 'full' },
    },
  ];
  for (const { name, steps, expect } of cases) {
    test(name, () => {
      const doc = entitlementsAfter(steps);
      for (const [key, value] of Object.entries(expect)) assert.deepEqual(doc[key as keyof AppEntitlements], value, key);
    });
  }

  test('the grace period comes from options', () => {
    const doc = entitlementsAfter([fact.activated(day(1), 'pro'), fact.paymentFailed(day(5))], { ...options, pastDueGraceDays: 3 });
    assert.equal(doc.graceEndsAt, '2026-03-08T00:00:00.000Z');
  });
});

describe('app entitlements: hasAccessAt', () => {
  const pastDue = entitlementsAfter([fact.activated(day(1), 'pro'), fact.paymentFailed(day(5))]);
  const cases: [string, AppEntitlements, string, boolean][] = [
    ['full, any time', entitlementsAfter([fact.activated(day(1), 'pro')]), '2030-01-01T00:00:00Z', true],
    ['grace, before its end', pastDue, '2026-03-11T23:59:59Z', true],
    ['grace, at its end', pastDue, '2026-03-12T00:00:00Z', false],
    ['grace, after its end', pastDue, '2026-04-01T00:00:00Z', false],
    ['none', entitlementsAfter([fact.activated(day(1), 'pro'), fact.canceled(day(2))]), '2026-03-02T00:00:00Z', false],
  ];
  for (const [name, doc, now, expected] of cases) {
    test(`${name} -> ${expected}`, () => assert.equal(hasAccessAt(doc, now), expected));
  }

  test('a stored (jsonb) document answers the same', () => {
    assert.equal(hasAccessAt(asStored(pastDue), '2026-03-11T00:00:00+02:00'), true);
  });
});

describe('app entitlements: status message', () => {
  const cases: [string, (FactEvent | Override)[], string, string][] = [
    ['a lead', [fact.lead(day(1))], 'no_subscription', 'Start a trial or subscribe to get access.'],
    ['a lead who just paid (checkout ahead of its subscription)', [fact.lead(day(1)), fact.paid(day(2), 4900, null)], 'payment_received', 'We got your payment; finishing setup.'],
    ['a trial', [fact.trialStarted(day(1), 'pro')], 'trialing', 'Your trial ends on 2026-03-15.'],
    ['active', [fact.activated(day(1), 'pro')], 'active', 'Your subscription is active.'],
    ['past due', [fact.activated(day(1), 'pro'), fact.paymentFailed(day(5))], 'payment_failed', 'Payment failed — update your card by 2026-03-12 to keep access.'],
    ['canceled', [fact.activated(day(1), 'pro'), fact.canceled(day(2))], 'canceled', 'Access ended — your subscription was canceled.'],
    ['refunded', [fact.activated(day(1), 'pro'), fact.paid(day(1)), fact.refunded(day(2))], 'refunded', 'Access ended — your payment was refunded.'],
    ['disputed', [fact.activated(day(1), 'pro'), fact.disputed(day(2))], 'under_review', 'Access is paused while we review your account; we will be in touch.'],
  ];
  for (const [name, steps, statusCode, statusMessage] of cases) {
    test(name, () => {
      const doc = entitlementsAfter(steps);
      assert.deepEqual([doc.statusCode, doc.statusMessage], [statusCode, statusMessage]);
    });
  }

  test('"finishing setup" gives way once the subscription lands', () => {
    const doc = entitlementsAfter([fact.lead(day(1)), fact.paid(day(2), 4900, null), fact.activated(day(2, 1), 'pro')]);
    assert.deepEqual([doc.access, doc.statusCode], ['full', 'active']);
  });
});

describe('app entitlements: version', () => {
  const journey: (FactEvent | Override)[] = [
    fact.lead(day(1)),
    fact.ticketOpened(day(1, 1), 'tk_1', 'Hello'),
    fact.paid(day(2), 4900, null),
    fact.trialStarted(day(2, 1), 'pro'),
    fact.paid(day(15)),
    fact.paid(day(15)),
    fact.paymentFailed(day(16)),
    fact.paid(day(17)),
    fact.canceled(day(20)),
    fact.ticketClosed(day(21), 'tk_1'),
  ];

  test('goes up by one on each visible change and never moves otherwise', () => {
    const { steps } = runReadModel(appReadModel, options, new TestLedger().history('cust_1', journey));
    let last = 0;
    for (const step of steps) {
      const version = step.doc?.version ?? 0;
      assert.equal(version, step.changed ? last + 1 : last, `${step.input.event.type} at ${step.input.position}`);
      last = version;
    }
    assert.deepEqual(
      steps.filter((step) => step.changed).map((step) => step.doc?.statusCode),
      ['no_subscription', 'payment_received', 'trialing', 'active', 'payment_failed', 'active', 'canceled'],
    );
  });

  test('fed again, nothing moves; replayed from scratch, the documents are byte-identical', () => {
    const build = () => runReadModel(appReadModel, options, new TestLedger().history('cust_1', journey));
    const one = build();
    const two = build();
    assert.equal(JSON.stringify([...one.docs]), JSON.stringify([...two.docs]));
    assert.deepEqual([...one.docs], [...two.docs]);
    const again = runReadModel(appReadModel, options, one.steps.map((step) => step.input), { docs: one.docs });
    assert.ok(again.steps.every((step) => !step.changed));
  });

  test('defaults: 7 days of grace, no features', () => {
    const doc = entitlementsAfter([fact.activated(day(1), 'pro'), fact.paymentFailed(day(5))], defaultReadModelOptions.app);
    assert.deepEqual([doc.graceEndsAt, doc.features], ['2026-03-12T00:00:00.000Z', []]);
  });
});

describe('app entitlements: a plan and an add-on at once', () => {
  test('both running: the features of both, whichever spoke last', () => {
    const opts: AppOptions = { ...options, planFeatures: { price_pro: ['reports', 'export'], basic: ['reports', 'sso'] } };
    for (const order of [['pro', 'basic'], ['basic', 'pro']] as const) {
      const doc = entitlementsAfter([fact.activated(day(1), order[0], `sub_${order[0]}`), fact.activated(day(2), order[1], `sub_${order[1]}`)], opts);
      assert.equal(doc.access, 'full');
      assert.deepEqual([...doc.features].sort(), ['export', 'reports', 'sso'], order.join(' then '));
    }
  });

  test('the add-on canceled keeps the access and features of the plan that still runs', () => {
    const doc = entitlementsAfter([fact.activated(day(1), 'pro', 'sub_main'), fact.activated(day(2), 'basic', 'sub_addon'), fact.canceled(day(3), 'sub_addon')]);
    assert.equal(doc.lifecycle, 'active');
    assert.equal(doc.access, 'full');
    assert.equal(doc.plan, 'Pro Monthly');
    assert.deepEqual(doc.features, ['reports', 'export', 'api']);
  });
});
