import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { domainEvent } from '../../contracts/domainEvents.ts';
import { customerDecider } from '../../domain/customerDecider.ts';
import { at, changedTo, facts, historyTo, permutations, recordFact, run, stateAfter } from './lifecycleFixtures.ts';

// What evolve keeps for read models, so they never refold a stream.

describe('customer state: evolve', () => {
  test('starts as a lead that nothing has happened to', () => {
    assert.equal(customerDecider.initialState.lifecycle, 'lead');
    assert.equal(customerDecider.initialState.since, null);
    assert.deepEqual(customerDecider.initialState.watermarks, {});
  });

  test('lifecycle and since follow the decisions, at the source time of their cause', () => {
    const state = stateAfter(historyTo('past_due'));
    assert.equal(state.lifecycle, 'past_due');
    assert.equal(state.since, at(2));
  });

  test('subscription facts carry plan, MRR, currency, status and trial end', () => {
    const { state } = run([recordFact(facts.trialStarted(1))]);
    assert.equal(state.subscriptionId, 'sub_1');
    assert.equal(state.subscriptionStatus, 'trialing');
    assert.deepEqual(state.plan, { priceId: 'price_pro', nickname: 'Pro', interval: 'month' });
    assert.equal(state.trialEndsAt, '2026-02-15T00:00:00Z');
    const activated = run([recordFact(facts.subscriptionActivated(2))], [facts.trialStarted(1)]).state;
    assert.equal(activated.mrrCents, 4900);
    assert.equal(activated.currency, 'usd');
    assert.equal(activated.trialEndsAt, '2026-02-15T00:00:00Z', 'kept for the same subscription');
  });

  test('a new subscription replaces the old one', () => {
    const state = stateAfter([facts.subscriptionActivated(1), facts.subscriptionCanceled(2), facts.trialStarted(3, 'sub_2')]);
    assert.equal(state.subscriptionId, 'sub_2');
    assert.equal(state.subscriptionStatus, 'trialing');
    assert.equal(state.mrrCents, null, 'not the old subscription MRR');
  });

  test('a cancellation marks the subscription canceled and keeps its MRR for the record', () => {
    const state = stateAfter([facts.subscriptionActivated(1), facts.subscriptionCanceled(2)]);
    assert.equal(state.subscriptionStatus, 'canceled');
    assert.equal(state.mrrCents, 4900);
  });

  test('last payment is the newest by source time, across invoices', () => {
    const newer = facts.paymentSucceeded(20, null);
    const older = facts.paymentFailed(10, null);
    const state = stateAfter([newer, older]);
    assert.deepEqual(state.lastPayment, { outcome: 'succeeded', amountCents: 4900, currency: 'usd', occurredAt: at(20), invoiceId: 'in_20' });
  });

  test('a paid subscription invoice names the subscription when its created event is late', () => {
    const state = stateAfter([facts.paymentSucceeded(5)]);
    assert.equal(state.subscriptionId, 'sub_1');
    assert.equal(state.currency, 'usd');
  });

  test('the last refund says whether it was full', () => {
    assert.equal(stateAfter([facts.refundIssued(5, 1000)]).lastRefund?.full, false);
    assert.equal(stateAfter([facts.refundIssued(5, 1000), facts.refundIssued(6, 4900)]).lastRefund?.full, true);
  });

  test('profile: a lead fills gaps, an update may clear; per field, the newest source time wins in every arrival order', () => {
    const lead = domainEvent('LeadCaptured', { occurredAt: at(1), email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace' });
    const cleared = domainEvent('CustomerProfileUpdated', { occurredAt: at(3), phone: '+44 20 7946 0000', lastName: null });
    const newEmail = domainEvent('CustomerProfileUpdated', { occurredAt: at(2), email: 'ada@lovelace.example' });
    const renamed = domainEvent('CustomerProfileUpdated', { occurredAt: at(4), firstName: 'Augusta' });
    const expected = { email: 'ada@lovelace.example', firstName: 'Augusta', lastName: null, phone: '+44 20 7946 0000' };
    // A late fact used to be dropped whole (one `profile` key): the e-mail of second 2 was lost
    // once the phone of second 3 had arrived, though nothing newer spoke of the e-mail.
    for (const order of permutations([lead, cleared, newEmail, renamed])) assert.deepEqual(stateAfter(order).profile, expected, order.map((f) => f.data.occurredAt).join(' '));
    // An older value never overwrites a newer one.
    assert.equal(stateAfter([lead, renamed, domainEvent('CustomerProfileUpdated', { occurredAt: at(2), firstName: 'Ada B.' })]).profile.firstName, 'Augusta');
  });

  test('identities, CRM properties, open tickets and deletions', () => {
    const state = stateAfter([
      domainEvent('IdentityLinked', { occurredAt: at(1), kind: 'stripe', externalId: 'cus_1' }),
      domainEvent('IdentityLinked', { occurredAt: at(1), kind: 'crm', externalId: 'crm_1' }),
      domainEvent('IdentityLinked', { occurredAt: at(1), kind: 'crm', externalId: 'crm_1' }),
      domainEvent('IdentityUnlinked', { occurredAt: at(2), kind: 'stripe', externalId: 'cus_1' }),
      domainEvent('CrmPropertyChanged', { occurredAt: at(1), property: 'hubspot_owner_id', value: '42' }),
      domainEvent('TicketOpened', { occurredAt: at(1), ticketId: 'tk_1', subject: 'Refund?', status: 'new', tags: [] }),
      domainEvent('TicketOpened', { occurredAt: at(1), ticketId: 'tk_2', subject: 'Login', status: 'open', tags: [] }),
      domainEvent('TicketUpdated', { occurredAt: at(2), ticketId: 'tk_1', status: 'solved' }),
      domainEvent('TicketClosed', { occurredAt: at(3), ticketId: 'tk_2', status: 'closed' }),
      domainEvent('TicketOpened', { occurredAt: at(4), ticketId: 'tk_3', subject: 'Invoice', status: 'open', tags: ['billing'] }),
      domainEvent('CustomerDeleted', { occurredAt: at(5), deletedIn: 'stripe' }),
    ]);
    assert.deepEqual(state.identities, [{ kind: 'crm', externalId: 'crm_1' }]);
    assert.deepEqual(state.crmProperties, { hubspot_owner_id: '42' });
    assert.deepEqual(state.openTicketIds, ['tk_3']);
    assert.deepEqual(state.deletedIn, ['stripe']);
  });

  test('a subscription snapshot stored before statusAt and termsAt: newer words update it, older ones only fill what it lacks', () => {
    // A read-model basis written by an earlier version: the snapshot has no statusAt, termsAt or
    // trialEndsAt, and its terms count as of its start.
    const stored = stateAfter([facts.subscriptionActivated(5), facts.paymentSucceeded(5)]);
    const legacy = {
      ...stored,
      subscriptions: { sub_1: { status: 'active' as const, plan: stored.plan, mrrCents: 4900, currency: 'usd', since: at(5) } },
    };
    const older = { ...facts.subscriptionChanged(3, 'trialing'), data: { ...facts.subscriptionChanged(3, 'trialing').data, mrrCents: 100, trialEndsAt: '2026-02-10T00:00:00Z' } };
    const afterOlder = stateAfter([older], legacy);
    assert.equal(afterOlder.subscriptions?.sub_1?.status, 'active', 'an older status does not undo the stored one');
    assert.equal(afterOlder.subscriptions?.sub_1?.mrrCents, 4900, 'nor an older term');
    assert.equal(afterOlder.subscriptions?.sub_1?.trialEndsAt, '2026-02-10T00:00:00Z', 'a term it lacked is filled');
    assert.equal(afterOlder.subscriptions?.sub_1?.since, at(3), 'the start moves to the earliest word');
    const newer = { ...facts.subscriptionChanged(9, 'past_due'), data: { ...facts.subscriptionChanged(9, 'past_due').data, mrrCents: 5900 } };
    const afterNewer = stateAfter([newer], legacy);
    assert.deepEqual([afterNewer.subscriptionStatus, afterNewer.mrrCents], ['past_due', 5900]);

    // Its trial end stays with it: when it ends and a legacy add-on takes over, the add-on has none said.
    const withAddOn = {
      ...legacy,
      trialEndsAt: '2026-02-10T00:00:00Z',
      subscriptions: { ...legacy.subscriptions, sub_addon: { status: 'active' as const, plan: stored.plan, mrrCents: 900, currency: 'usd', since: at(6) } },
    };
    const handedOver = stateAfter([facts.subscriptionCanceled(9)], withAddOn);
    assert.deepEqual([handedOver.subscriptionId, handedOver.mrrCents, handedOver.trialEndsAt], ['sub_addon', 900, null]);
  });

  test('evolve replays the decisions it is given rather than re-deciding', () => {
    // A decision today's rules would not take (trial -> refunded) still replays as recorded.
    const refund = facts.refundIssued(5);
    const state = stateAfter([...historyTo('trial'), refund, changedTo(refund, 'trial', 'refunded')]);
    assert.equal(state.lifecycle, 'refunded');
  });

  test('evolve never mutates the state it is given', () => {
    const before = stateAfter(historyTo('active'));
    const snapshot = structuredClone(before);
    run([recordFact(facts.paymentFailed(9)), recordFact(facts.refundIssued(10))], historyTo('active'));
    customerDecider.evolve(before, facts.paymentFailed(9));
    assert.deepEqual(before, snapshot);
  });
});
