import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FactEvent } from '../../contracts/domainEvents.ts';
import type { LifecycleState } from '../../contracts/events/vocabulary.ts';
import { crmReadModel, defaultReadModelOptions, type CrmContact, type CrmOptions } from '../../projections/readModels.ts';
import { asStored, day, fact, runReadModel, TestLedger, type Override } from './projectedEvents.ts';

const options: CrmOptions = defaultReadModelOptions.crm;
const contactAfter = (steps: (FactEvent | Override)[], opts = options): CrmContact => {
  const ledger = new TestLedger();
  const { docs } = runReadModel(crmReadModel, opts, ledger.history('cust_1', steps));
  const doc = docs.get('cust_1');
  assert.ok(doc);
  return doc;
};

describe('CRM contact: stage, plan and MRR per lifecycle', () => {
  const cases: { name: string; steps: (FactEvent | Override)[]; lifecycle: LifecycleState; expect: Partial<CrmContact> }[] = [
    { name: 'lead', steps: [fact.lead(day(1))], lifecycle: 'lead', expect: { stage: 'lead', pastDue: false, needsReview: false, plan: null, mrrCents: 0, tags: ['lifecycle:lead'] } },
    {
      name: 'trial',
      steps: [fact.lead(day(1)), fact.trialStarted(day(2), 'pro')],
      lifecycle: 'trial',
      expect: { stage: 'opportunity', plan: 'Pro Monthly', priceId: 'price_pro', mrrCents: 0, tags: ['lifecycle:trial', 'plan:pro-monthly'] },
    },
    {
      name: 'active',
      steps: [fact.activated(day(2), 'pro')],
      lifecycle: 'active',
      expect: { stage: 'customer', pastDue: false, plan: 'Pro Monthly', mrrCents: 4900, currency: 'usd', tags: ['lifecycle:active', 'plan:pro-monthly'] },
    },
    {
      name: 'past_due',
      steps: [fact.activated(day(2), 'pro'), fact.paymentFailed(day(3))],
      lifecycle: 'past_due',
      expect: { stage: 'customer', pastDue: true, plan: 'Pro Monthly', mrrCents: 4900, tags: ['lifecycle:past_due', 'plan:pro-monthly'] },
    },
    {
      name: 'canceled',
      steps: [fact.activated(day(2), 'pro'), fact.canceled(day(3))],
      lifecycle: 'canceled',
      expect: { stage: 'former_customer', plan: null, priceId: null, mrrCents: 0, tags: ['lifecycle:canceled'] },
    },
    {
      name: 'refunded',
      steps: [fact.activated(day(2), 'pro'), fact.paid(day(2)), fact.refunded(day(3))],
      lifecycle: 'refunded',
      expect: { stage: 'former_customer', plan: null, mrrCents: 0, tags: ['lifecycle:refunded'] },
    },
    {
      name: 'needs_review keeps the stage it was flagged from',
      steps: [fact.activated(day(2), 'pro'), fact.paid(day(2)), fact.disputed(day(3))],
      lifecycle: 'needs_review',
      expect: {
        stage: 'customer',
        needsReview: true,
        reviewReason: 'dispute_opened',
        plan: 'Pro Monthly',
        mrrCents: 4900,
        tags: ['lifecycle:needs_review', 'plan:pro-monthly'],
      },
    },
    {
      name: 'needs_review flagged from a lead stays a lead',
      steps: [fact.lead(day(1)), fact.refunded(day(3))],
      lifecycle: 'needs_review',
      expect: { stage: 'lead', needsReview: true, reviewReason: 'refund_without_payment', plan: null, tags: ['lifecycle:needs_review'] },
    },
  ];
  for (const { name, steps, lifecycle, expect } of cases) {
    test(name, () => {
      const contact = contactAfter(steps);
      assert.equal(contact.lifecycle, lifecycle);
      for (const [key, value] of Object.entries(expect)) assert.deepEqual(contact[key as keyof CrmContact], value, key);
    });
  }

  test('a resolved review moves the stage on with the override', () => {
    const contact = contactAfter([fact.activated(day(2), 'pro'), fact.disputed(day(3)), { override: 'resolve_review', to: 'canceled', at: day(4) }]);
    assert.deepEqual([contact.stage, contact.needsReview, contact.reviewReason, contact.tags], ['former_customer', false, null, ['lifecycle:canceled']]);
  });
});

describe('CRM contact: tags', () => {
  // lead -> trial (Pro) -> active -> past_due -> active -> upgrade to Team -> canceled -> trial (Basic, new subscription) -> active
  const journey: (FactEvent | Override)[] = [
    fact.lead(day(1)),
    fact.trialStarted(day(2), 'pro'),
    fact.paid(day(15)),
    fact.paymentFailed(day(16)),
    fact.paid(day(17)),
    fact.changed(day(18), 'team', 'active'),
    fact.canceled(day(19)),
    fact.trialStarted(day(20), 'basic', 'sub_2'),
    fact.activated(day(21), 'basic', 'sub_2'),
    // A repeated, same-instant fact decides nothing and must tag nothing.
    fact.activated(day(21), 'basic', 'sub_2'),
  ];

  test('after every lifecycle change the plan tag matches the plan exactly once, and is gone when no plan is held', () => {
    const ledger = new TestLedger();
    const { steps } = runReadModel(crmReadModel, options, ledger.history('cust_1', journey));
    const changes = steps.filter((step) => step.input.event.type === 'LifecycleChanged');
    assert.deepEqual(
      changes.map((step) => [step.input.after.lifecycle, step.doc?.tags.filter((tag) => tag.startsWith('plan:'))]),
      [
        ['trial', ['plan:pro-monthly']],
        ['active', ['plan:pro-monthly']],
        ['past_due', ['plan:pro-monthly']],
        ['active', ['plan:pro-monthly']],
        ['canceled', []],
        ['trial', ['plan:basic']],
        ['active', ['plan:basic']],
      ],
    );
  });

  test('the tag history shows each add and remove once per change, and a held plan is never re-added', () => {
    const contact = contactAfter(journey);
    const ops = contact.tagHistory.map((change) => [change.cause, change.lifecycle, change.add, change.remove]);
    assert.deepEqual(ops, [
      ['LeadCaptured', 'lead', ['lifecycle:lead'], []],
      ['LifecycleChanged', 'trial', ['lifecycle:trial', 'plan:pro-monthly'], ['lifecycle:lead']],
      ['LifecycleChanged', 'active', ['lifecycle:active'], ['lifecycle:trial']],
      ['LifecycleChanged', 'past_due', ['lifecycle:past_due'], ['lifecycle:active']],
      ['LifecycleChanged', 'active', ['lifecycle:active'], ['lifecycle:past_due']],
      // An upgrade is not a lifecycle change, but the old plan tag no longer holds.
      ['SubscriptionChanged', 'active', ['plan:price-team'], ['plan:pro-monthly']],
      ['LifecycleChanged', 'canceled', ['lifecycle:canceled'], ['lifecycle:active', 'plan:price-team']],
      ['LifecycleChanged', 'trial', ['lifecycle:trial', 'plan:basic'], ['lifecycle:canceled']],
      ['LifecycleChanged', 'active', ['lifecycle:active'], ['lifecycle:trial']],
    ]);
    for (const change of contact.tagHistory) {
      assert.equal(new Set([...change.add, ...change.remove]).size, change.add.length + change.remove.length, 'a tag appears once per change');
    }
    assert.deepEqual(contact.tags, ['lifecycle:active', 'plan:basic']);
  });

  test('a plan without a nickname is tagged by its price id; names are slugged', () => {
    assert.deepEqual(contactAfter([fact.activated(day(2), 'team')]).tags, ['lifecycle:active', 'plan:price-team']);
  });
});

describe('CRM contact: owner rules', () => {
  const pools: CrmOptions = { owners: { default: ['alice', 'bob'], price_pro: ['carol', 'dave'], basic: ['erin'] } };

  test('round-robin within the plan pool, else the default pool; the counter lives in shared', () => {
    const ledger = new TestLedger();
    const inputs = [
      ...ledger.record('cust_a', fact.lead(day(1))),
      ...ledger.record('cust_b', fact.activated(day(1), 'pro')),
      ...ledger.record('cust_c', fact.lead(day(1))),
      ...ledger.record('cust_d', fact.activated(day(1), 'pro')),
      ...ledger.record('cust_e', fact.activated(day(1), 'pro')),
      ...ledger.record('cust_f', fact.lead(day(1))),
      // Keyed by nickname ("Basic"), case-insensitively.
      ...ledger.record('cust_g', fact.activated(day(1), 'basic')),
      // No pool for Team: the default pool.
      ...ledger.record('cust_h', fact.activated(day(1), 'team')),
    ];
    const { docs, shared } = runReadModel(crmReadModel, pools, inputs);
    assert.deepEqual(
      [...docs].map(([id, doc]) => [id, doc.owner]),
      [
        ['cust_a', 'alice'],
        ['cust_b', 'carol'],
        ['cust_c', 'bob'],
        ['cust_d', 'dave'],
        ['cust_e', 'carol'],
        ['cust_f', 'alice'],
        ['cust_g', 'erin'],
        ['cust_h', 'bob'],
      ],
    );
    assert.deepEqual(shared, { nextIndexByPool: { default: 0, price_pro: 1, basic: 0 } });
  });

  test('an owner is stable: later events (a plan, a cancellation, a new subscription) never reassign', () => {
    const ledger = new TestLedger();
    const { docs, shared } = runReadModel(crmReadModel, pools, [
      ...ledger.record('cust_a', fact.lead(day(1))),
      ...ledger.history('cust_a', [fact.activated(day(2), 'pro'), fact.canceled(day(3)), fact.activated(day(4), 'basic', 'sub_2')]),
    ]);
    assert.equal(docs.get('cust_a')?.owner, 'alice');
    assert.deepEqual(shared, { nextIndexByPool: { default: 1 } }, 'only the first assignment turned a counter');
  });

  describe('LEDGER_CRM_OWNER_ASSIGNMENT=hash', () => {
    const hashed = (owners: string[]): CrmOptions => ({ owners: { price_pro: owners }, ownerAssignment: 'hash' });
    const customers = Array.from({ length: 300 }, (_, i) => `cust_h${i.toString(36)}`);
    const ownersOf = (options: CrmOptions, ids: string[]) => {
      const ledger = new TestLedger();
      const { docs, shared } = runReadModel(crmReadModel, options, ids.flatMap((id) => ledger.record(id, fact.activated(day(1), 'pro'))));
      return { owners: new Map(ids.map((id) => [id, docs.get(id)?.owner ?? null])), shared };
    };

    test('the owner depends on the customer, not on the order customers arrive in (round-robin does)', () => {
      const some = customers.slice(0, 60);
      const forward = ownersOf(hashed(['carol', 'dave', 'erin']), some);
      const backward = ownersOf(hashed(['carol', 'dave', 'erin']), [...some].reverse());
      assert.deepEqual(new Map([...backward.owners].sort()), new Map([...forward.owners].sort()));
      assert.equal(forward.shared, crmReadModel.initialShared, 'no shared counter for partitions to contend on');

      const roundRobin: CrmOptions = { owners: { price_pro: ['carol', 'dave', 'erin'] } };
      const rrForward = ownersOf(roundRobin, some).owners;
      const rrBackward = ownersOf(roundRobin, [...some].reverse()).owners;
      assert.ok(some.some((id) => rrForward.get(id) !== rrBackward.get(id)), 'round-robin follows arrival order');
    });

    test('every owner of the pool gets a fair share', () => {
      const counts = new Map<string | null, number>();
      for (const owner of ownersOf(hashed(['carol', 'dave', 'erin']), customers).owners.values()) counts.set(owner, (counts.get(owner) ?? 0) + 1);
      assert.deepEqual([...counts.keys()].sort(), ['carol', 'dave', 'erin']);
      for (const [owner, n] of counts) assert.ok(n >= 70 && n <= 130, `${owner}: ${n} of 300`);
    });

    test('adding an owner to the pool moves only the customers the newcomer wins, about one in four', () => {
      const before = ownersOf(hashed(['carol', 'dave', 'erin']), customers).owners;
      const after = ownersOf(hashed(['carol', 'dave', 'erin', 'fay']), customers).owners;
      const moved = customers.filter((id) => before.get(id) !== after.get(id));
      assert.ok(moved.every((id) => after.get(id) === 'fay'), 'nobody moves between the existing owners');
      assert.ok(moved.length >= 45 && moved.length <= 105, `${moved.length} of 300 moved`);
    });
  });

  test('without a matching pool the contact stays unassigned until a plan with a pool appears', () => {
    const ledger = new TestLedger();
    const proOnly: CrmOptions = { owners: { price_pro: ['carol'] } };
    const { steps } = runReadModel(crmReadModel, proOnly, ledger.history('cust_a', [fact.lead(day(1)), fact.trialStarted(day(2), 'pro')]));
    assert.deepEqual(
      steps.map((step) => step.doc?.owner),
      [null, 'carol', 'carol'],
    );
    const unassigned = runReadModel(crmReadModel, options, new TestLedger().history('cust_a', [fact.activated(day(1), 'pro')]));
    assert.equal(unassigned.docs.get('cust_a')?.owner, null);
    assert.equal(unassigned.shared, crmReadModel.initialShared, 'no pools: shared is untouched');
  });
});

describe('CRM contact: what it shows and when it changes', () => {
  test('profile, last payment, correlation id and position of the change that last touched it', () => {
    const ledger = new TestLedger();
    const inputs = ledger.history('cust_1', [fact.lead(day(1)), fact.activated(day(2), 'pro'), fact.paid(day(3), 4900)]);
    const { docs } = runReadModel(crmReadModel, options, inputs);
    const contact = docs.get('cust_1');
    const payment = inputs.at(-1);
    assert.ok(contact && payment);
    assert.deepEqual(
      {
        email: contact.email,
        firstName: contact.firstName,
        lastName: contact.lastName,
        lastPayment: contact.lastPayment,
        lastCorrelationId: contact.lastCorrelationId,
        updatedAtPosition: contact.updatedAtPosition,
      },
      {
        email: 'ada@example.com',
        firstName: 'Ada',
        lastName: 'Lovelace',
        lastPayment: { amountCents: 4900, currency: 'usd', at: day(3), outcome: 'succeeded' },
        lastCorrelationId: payment.correlationId,
        updatedAtPosition: payment.position,
      },
    );
  });

  test('an event that changes nothing the CRM shows returns the same document (nothing to write), even after a jsonb round trip', () => {
    const ledger = new TestLedger();
    const first = runReadModel(crmReadModel, options, ledger.history('cust_1', [fact.activated(day(2), 'pro')]));
    const stored = asStored(first.docs.get('cust_1'));
    assert.ok(stored);
    const quiet = [
      ...ledger.record('cust_1', fact.ticketOpened(day(3), 'tk_1', 'Where is the export button?')),
      ...ledger.record('cust_1', fact.ticketClosed(day(4), 'tk_1')),
      ...ledger.record('cust_1', fact.activated(day(2), 'pro')),
    ];
    const { steps } = runReadModel(crmReadModel, options, quiet, { docs: new Map([['cust_1', stored]]), shared: first.shared });
    assert.deepEqual(
      steps.map((step) => step.changed),
      [false, false, false],
    );
    assert.equal(steps.at(-1)?.doc, stored);
  });

  test('version goes up by one per change, and an event fed twice counts once', () => {
    const ledger = new TestLedger();
    const inputs = ledger.history('cust_1', [fact.lead(day(1)), fact.ticketOpened(day(1, 2), 'tk_1', 'Hi'), fact.activated(day(2), 'pro'), fact.paid(day(3))]);
    const { steps, docs } = runReadModel(crmReadModel, options, inputs);
    assert.deepEqual(
      steps.map((step) => [step.input.event.type, step.changed, step.doc?.version]),
      [
        ['LeadCaptured', true, 1],
        ['TicketOpened', false, 1],
        ['SubscriptionActivated', true, 2],
        ['LifecycleChanged', true, 3],
        ['PaymentSucceeded', true, 4],
      ],
    );
    const again = runReadModel(crmReadModel, options, inputs, { docs });
    assert.ok(again.steps.every((step) => !step.changed));
    assert.equal(again.docs.get('cust_1')?.version, 4);
  });

  test('the same events give byte-identical documents and shared state', () => {
    const build = () => {
      const ledger = new TestLedger();
      const inputs = [
        ...ledger.history('cust_a', [fact.lead(day(1)), fact.trialStarted(day(2), 'pro'), fact.paid(day(15)), fact.disputed(day(16))]),
        ...ledger.history('cust_b', [fact.activated(day(3), 'basic'), fact.paymentFailed(day(4)), fact.canceled(day(5))]),
      ];
      return runReadModel(crmReadModel, { owners: { default: ['alice', 'bob'] } }, inputs);
    };
    const one = build();
    const two = build();
    assert.deepEqual([...one.docs], [...two.docs]);
    assert.equal(JSON.stringify([...one.docs, one.shared]), JSON.stringify([...two.docs, two.shared]));
  });
});

describe('CRM contact: a plan and an add-on at once', () => {
  const both = [fact.activated(day(2), 'pro', 'sub_main'), fact.activated(day(3), 'basic', 'sub_addon')];

  test('both billed: MRR counts both', () => {
    assert.equal(contactAfter(both).mrrCents, 4900 + 1900);
  });

  test('the add-on canceled: still a customer, on the main plan, its MRR only', () => {
    const contact = contactAfter([...both, fact.canceled(day(4), 'sub_addon')]);
    assert.equal(contact.stage, 'customer');
    assert.equal(contact.plan, 'Pro Monthly');
    assert.equal(contact.mrrCents, 4900);
    assert.ok(contact.tags.includes('lifecycle:active'));
  });

  test('the plan shown is the one billed the most, whichever subscription spoke last', () => {
    for (const steps of [both, [fact.activated(day(2), 'basic', 'sub_addon'), fact.activated(day(3), 'pro', 'sub_main')]]) {
      const contact = contactAfter(steps);
      assert.equal(contact.plan, 'Pro Monthly');
      assert.ok(contact.tags.includes('plan:pro-monthly') && !contact.tags.includes('plan:basic'), contact.tags.join(', '));
    }
  });

  test('both canceled: a former customer with no MRR', () => {
    const contact = contactAfter([...both, fact.canceled(day(4), 'sub_addon'), fact.canceled(day(5), 'sub_main')]);
    assert.equal(contact.stage, 'former_customer');
    assert.equal(contact.mrrCents, 0);
  });
});
