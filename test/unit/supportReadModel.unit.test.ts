import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { domainEvent, type FactEvent } from '../../contracts/domainEvents.ts';
import { defaultReadModelOptions, supportReadModel, type SupportOptions, type SupportProfile, type SupportTicket } from '../../projections/readModels.ts';
import { asStored, day, fact, runReadModel, TestLedger, type Override } from './projectedEvents.ts';

const options: SupportOptions = defaultReadModelOptions.support;

const profileAfter = (steps: (FactEvent | Override)[], opts = options): SupportProfile => {
  const { docs } = runReadModel(supportReadModel, opts, new TestLedger().history('cust_1', steps));
  const doc = docs.get('cust_1');
  assert.ok(doc);
  return doc;
};
const ticket = (profile: SupportProfile, ticketId: string): SupportTicket => {
  const found = profile.tickets.find((t) => t.ticketId === ticketId);
  assert.ok(found, `ticket ${ticketId}`);
  return found;
};
const routingOf = (t: SupportTicket) => [t.queue, t.routingReason];

describe('support profile: billing status', () => {
  const cases: [string, (FactEvent | Override)[], string][] = [
    ['lead', [fact.lead(day(1))], 'ok'],
    ['trial', [fact.trialStarted(day(1), 'pro')], 'ok'],
    ['active', [fact.activated(day(1), 'pro')], 'ok'],
    ['past_due', [fact.activated(day(1), 'pro'), fact.paymentFailed(day(2))], 'past_due'],
    ['canceled', [fact.activated(day(1), 'pro'), fact.canceled(day(2))], 'canceled'],
    ['refunded', [fact.activated(day(1), 'pro'), fact.paid(day(1)), fact.refunded(day(2))], 'refunded'],
    ['needs_review', [fact.activated(day(1), 'pro'), fact.disputed(day(2))], 'needs_review'],
  ];
  for (const [lifecycle, steps, billingStatus] of cases) {
    test(`${lifecycle} -> ${billingStatus}`, () => {
      const profile = profileAfter(steps);
      assert.deepEqual([profile.lifecycle, profile.billingStatus], [lifecycle, billingStatus]);
    });
  }
});

describe('support profile: routing', () => {
  const byContent: [string, string, string[], string][] = [
    ['a billing word in the subject', 'Charged twice this month', [], 'billing'],
    ['an inflected billing word', 'Where are my invoices?', [], 'billing'],
    ['a card problem', 'My card was declined', [], 'billing'],
    ['a billing tag', 'Question', ['refund_request'], 'billing'],
    ['nothing about billing', 'Cannot log in', ['login'], 'general'],
    ['a word that only contains one', 'How do I discard a draft?', ['recharged-batteries'], 'general'],
  ];
  for (const [name, subject, tags, queue] of byContent) {
    test(`an active customer's ticket, ${name} -> ${queue}`, () => {
      const profile = profileAfter([fact.activated(day(1), 'basic'), fact.ticketOpened(day(2), 'tk_1', subject, tags)]);
      assert.deepEqual(routingOf(ticket(profile, 'tk_1')), queue === 'billing' ? ['billing', 'ticket_content'] : ['general', null]);
    });
  }

  const byStatus: [string, (FactEvent | Override)[], string][] = [
    ['past_due', [fact.activated(day(1), 'basic'), fact.paymentFailed(day(2), 1900)], 'billing'],
    ['refunded', [fact.activated(day(1), 'basic'), fact.paid(day(1)), fact.refunded(day(2))], 'billing'],
    ['needs_review', [fact.activated(day(1), 'basic'), fact.disputed(day(2))], 'billing'],
    ['canceled', [fact.activated(day(1), 'basic'), fact.canceled(day(2))], 'general'],
  ];
  for (const [status, steps, queue] of byStatus) {
    test(`a ${status} customer's "Cannot log in" -> ${queue}`, () => {
      const profile = profileAfter([...steps, fact.ticketOpened(day(3), 'tk_1', 'Cannot log in')]);
      assert.deepEqual(routingOf(ticket(profile, 'tk_1')), queue === 'billing' ? ['billing', 'billing_status'] : ['general', null]);
    });
  }

  test('open tickets follow the billing status into billing, stay there when it recovers, and closed tickets are left alone', () => {
    const ledger = new TestLedger();
    const inputs = ledger.history('cust_1', [
      fact.activated(day(1), 'basic'),
      fact.ticketOpened(day(2), 'tk_old', 'Export is slow'),
      fact.ticketClosed(day(3), 'tk_old'),
      fact.ticketOpened(day(4), 'tk_open', 'Cannot log in'),
    ]);
    const before = runReadModel(supportReadModel, options, inputs);
    const calm = before.docs.get('cust_1');
    assert.ok(calm);
    assert.deepEqual(routingOf(ticket(calm, 'tk_open')), ['general', null]);

    const pastDue = runReadModel(supportReadModel, options, ledger.history('cust_1', [fact.paymentFailed(day(5), 1900)]), before);
    const falling = pastDue.docs.get('cust_1');
    assert.ok(falling);
    assert.deepEqual(routingOf(ticket(falling, 'tk_open')), ['billing', 'billing_status']);
    assert.deepEqual(routingOf(ticket(falling, 'tk_old')), ['general', null], 'a closed ticket keeps how it was handled');

    const paid = runReadModel(supportReadModel, options, ledger.history('cust_1', [fact.paid(day(6), 1900)]), pastDue);
    const recovered = paid.docs.get('cust_1');
    assert.ok(recovered);
    assert.equal(recovered.billingStatus, 'ok');
    assert.deepEqual(routingOf(ticket(recovered, 'tk_open')), ['billing', 'billing_status'], 'billing is sticky while the ticket lives');
  });
});

describe('support profile: VIP', () => {
  test('MRR at the threshold makes a VIP: open tickets get the vip label and keep the desk priority', () => {
    const profile = profileAfter([fact.activated(day(1), 'team'), fact.ticketOpened(day(2), 'tk_1', 'Feature request', [], 'normal')]);
    assert.equal(profile.mrrCents, 60000);
    assert.equal(profile.vip, true);
    const t = ticket(profile, 'tk_1');
    assert.deepEqual([t.priority, t.priorityLabel], ['normal', 'vip']);
  });

  test('below the threshold, or on a trial (MRR not yet counted), no label', () => {
    for (const start of [fact.activated(day(1), 'pro'), fact.trialStarted(day(1), 'team')]) {
      const profile = profileAfter([start, fact.ticketOpened(day(2), 'tk_1', 'Feature request', [], 'high')]);
      assert.equal(profile.vip, false);
      assert.deepEqual([ticket(profile, 'tk_1').priority, ticket(profile, 'tk_1').priorityLabel], ['high', null]);
    }
  });

  test('the threshold comes from options, and an open ticket gains the label when the customer becomes a VIP', () => {
    const profile = profileAfter([fact.trialStarted(day(1), 'pro'), fact.ticketOpened(day(2), 'tk_1', 'Hello'), fact.paid(day(3))], { vipMrrCents: 4900 });
    assert.equal(profile.vip, true);
    assert.equal(ticket(profile, 'tk_1').priorityLabel, 'vip');
  });
});

describe('support profile: tickets', () => {
  test('a closed ticket stays closed against an older, out-of-order update and a same-instant one; a newer event reopens it', () => {
    const ledger = new TestLedger();
    const opened = runReadModel(
      supportReadModel,
      options,
      ledger.history('cust_1', [fact.ticketOpened(day(1), 'tk_1', 'Cannot log in'), fact.ticketClosed(day(3), 'tk_1')]),
    );
    const closed = opened.docs.get('cust_1');
    assert.ok(closed);
    assert.deepEqual([ticket(closed, 'tk_1').status, ticket(closed, 'tk_1').closedAt], ['solved', day(3)]);

    const late = runReadModel(
      supportReadModel,
      options,
      ledger.history('cust_1', [
        fact.ticketUpdated(day(2), 'tk_1', { status: 'open', subject: 'Cannot log in (again)' }),
        fact.ticketUpdated(day(3), 'tk_1', { status: 'open' }),
      ]),
      opened,
    );
    assert.deepEqual(
      late.steps.map((step) => step.changed),
      [false, false],
    );

    const reopened = runReadModel(supportReadModel, options, ledger.history('cust_1', [fact.ticketUpdated(day(4), 'tk_1', { status: 'open' })]), late);
    const doc = reopened.docs.get('cust_1');
    assert.ok(doc);
    assert.deepEqual(
      { status: ticket(doc, 'tk_1').status, closedAt: ticket(doc, 'tk_1').closedAt, updatedAt: ticket(doc, 'tk_1').updatedAt, subject: ticket(doc, 'tk_1').subject },
      { status: 'open', closedAt: null, updatedAt: day(4), subject: 'Cannot log in' },
    );
  });

  test('a ticket\'s creation delivered after its solve still gives its subject, open date, desk priority and tags: every arrival order ends alike', () => {
    const history = [
      fact.ticketOpened(day(1), 'tk_1', 'Refund for March', ['billing'], 'high'),
      fact.ticketUpdated(day(2), 'tk_1', { status: 'pending' }),
      fact.ticketClosed(day(3), 'tk_1'),
    ];
    const inOrder = ticket(profileAfter(history), 'tk_1');
    assert.deepEqual([inOrder.subject, inOrder.openedAt, inOrder.priority, inOrder.tags, inOrder.status], ['Refund for March', day(1), 'high', ['billing'], 'solved']);
    for (const order of [[history[2]!, history[1]!, history[0]!], [history[1]!, history[2]!, history[0]!], [history[2]!, history[0]!, history[1]!]]) {
      const t = ticket(profileAfter(order), 'tk_1');
      assert.deepEqual(
        { subject: t.subject, openedAt: t.openedAt, priority: t.priority, tags: t.tags, status: t.status, closedAt: t.closedAt, queue: t.queue },
        { subject: inOrder.subject, openedAt: inOrder.openedAt, priority: inOrder.priority, tags: inOrder.tags, status: inOrder.status, closedAt: inOrder.closedAt, queue: inOrder.queue },
        order.map((e) => e.type).join(', '),
      );
    }
  });

  test('a ticket deleted, marked as spam or merged leaves the open tickets, says why, and is back when undeleted', () => {
    const removedAs = (removed: 'deleted' | 'spam' | 'merged') => {
      const profile = profileAfter([
        fact.ticketOpened(day(1), 'tk_1', 'Buy cheap watches'),
        domainEvent('TicketClosed', { occurredAt: day(2), ticketId: 'tk_1', status: 'closed', removed }),
      ]);
      return ticket(profile, 'tk_1');
    };
    for (const removed of ['deleted', 'spam', 'merged'] as const) assert.deepEqual([removedAs(removed).status, removedAs(removed).removed], ['closed', removed]);
    const undeleted = ticket(
      profileAfter([
        fact.ticketOpened(day(1), 'tk_1', 'Cannot log in'),
        domainEvent('TicketClosed', { occurredAt: day(2), ticketId: 'tk_1', status: 'closed', removed: 'deleted' }),
        fact.ticketUpdated(day(3), 'tk_1', { status: 'open' }),
      ]),
      'tk_1',
    );
    assert.deepEqual([undeleted.status, undeleted.removed, undeleted.closedAt], ['open', undefined, null]);
  });

  test('an update without a status leaves a closed ticket closed, with its close date', () => {
    const profile = profileAfter([
      fact.ticketOpened(day(1), 'tk_1', 'Cannot log in'),
      fact.ticketClosed(day(2), 'tk_1'),
      fact.ticketUpdated(day(3), 'tk_1', { tags: ['resolved-by-docs'] }),
    ]);
    const t = ticket(profile, 'tk_1');
    assert.deepEqual([t.status, t.closedAt, t.tags], ['solved', day(2), ['resolved-by-docs']]);
  });

  test('an older update never overwrites an open ticket either', () => {
    const profile = profileAfter([
      fact.ticketOpened(day(1), 'tk_1', 'Cannot log in'),
      fact.ticketUpdated(day(3), 'tk_1', { status: 'pending', subject: 'Login loop on Android' }),
      fact.ticketUpdated(day(2), 'tk_1', { status: 'open', subject: 'Login' }),
    ]);
    const t = ticket(profile, 'tk_1');
    assert.deepEqual([t.status, t.subject, t.openedAt, t.updatedAt], ['pending', 'Login loop on Android', day(1), day(3)]);
  });

  test('an update for a ticket never seen opened creates it; tickets are sorted by id', () => {
    const profile = profileAfter([
      fact.ticketOpened(day(1), 'tk_b', 'Second'),
      fact.ticketUpdated(day(2), 'tk_a', { status: 'pending' }),
      fact.ticketOpened(day(3), 'tk_c', 'Third'),
    ]);
    assert.deepEqual(
      profile.tickets.map((t) => [t.ticketId, t.status, t.subject, t.openedAt]),
      [
        ['tk_a', 'pending', null, null],
        ['tk_b', 'new', 'Second', day(1)],
        ['tk_c', 'new', 'Third', day(3)],
      ],
    );
  });

  test('versions move once per visible change; a stored (jsonb) document compares equal; replays are byte-identical', () => {
    const build = () => {
      const ledger = new TestLedger();
      const run = runReadModel(
        supportReadModel,
        options,
        ledger.history('cust_1', [
          fact.lead(day(1)),
          fact.activated(day(1, 1), 'team'),
          fact.ticketOpened(day(2), 'tk_1', 'Refund please', ['billing']),
          fact.ticketUpdated(day(1, 12), 'tk_1', { status: 'open' }),
          fact.paymentFailed(day(3), 60000),
          fact.ticketClosed(day(4), 'tk_1'),
        ]),
      );
      return { ledger, ...run };
    };
    const one = build();
    const two = build();
    assert.equal(JSON.stringify([...one.docs]), JSON.stringify([...two.docs]));
    const versions = one.steps.filter((step) => step.changed).map((step) => step.doc?.version);
    assert.deepEqual(versions, [1, 2, 3, 4, 5]);
    assert.deepEqual(
      one.steps.filter((step) => !step.changed).map((step) => step.input.event.type),
      // The facts whose decisions show the change, and the stale update.
      ['SubscriptionActivated', 'TicketUpdated', 'PaymentFailed'],
    );

    const stored = asStored(one.docs.get('cust_1'));
    assert.ok(stored);
    const linked = one.ledger.record('cust_1', domainEvent('IdentityLinked', { occurredAt: day(5), kind: 'support', externalId: 'zd_1' }));
    const { steps } = runReadModel(supportReadModel, options, linked, { docs: new Map([['cust_1', stored]]) });
    assert.equal(steps[0]?.doc, stored);
  });
});
