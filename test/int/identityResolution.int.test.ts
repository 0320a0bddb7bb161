import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { domainEvent, type FactEvent } from '../../contracts/domainEvents.ts';
import { CustomerNotFoundError, handleCommand } from '../../services/commands/handleCommand.ts';
import { customerIdOfStream } from '../../services/commands/customerIds.ts';
import { loadCustomer } from '../../services/commands/loadCustomer.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import type { IdentityClaim } from '../../services/eventstore/port.ts';
import { claimsOf } from '../../services/ingest/stripe/stripeFacts.ts';
import { describeOnEachDatabase } from '../support/databases.ts';

// "One customer, never two" and "one email, two customers is needs_review, not a guess"
// (DESIGN.md), through the real command path on each store. Claims are built the way the
// translators build them: the source's own id first, then the e-mail, then lookup keys.

const plan = { priceId: 'price_pro', nickname: 'Pro' };
const at = (second: number) => `2026-02-01T00:00:${String(second).padStart(2, '0')}Z`;

let deliveries = 0;
async function deliver(db: LedgerDatabase, fact: FactEvent, identities: IdentityClaim[], options: { createIfMissing?: boolean; id?: string } = {}) {
  const sourceEventId = options.id ?? `evt_${(deliveries += 1)}`;
  return handleCommand(
    { store: db.store, now: () => new Date('2026-03-01T00:00:00Z') },
    {
      command: { type: 'RecordFact', fact },
      identities,
      createIfMissing: options.createIfMissing ?? true,
      idempotencyKey: { source: 'stripe', sourceEventId },
      metadata: { source: 'stripe', sourceEventId, correlationId: `corr_${sourceEventId}` },
    },
  );
}

type Delivery = readonly [FactEvent, IdentityClaim[]];

const crmLead = (contact: string, email: string): Delivery => [
  domainEvent('LeadCaptured', { occurredAt: at(1), email, channel: 'crm' }),
  [{ kind: 'crm', externalId: contact }, { kind: 'email', externalId: email }],
];
const stripeProfile = (customer: string, email: string, second = 2): Delivery => [
  domainEvent('CustomerProfileUpdated', { occurredAt: at(second), email }),
  claimsOf({ customer, email }),
];
// customer.subscription.created names no e-mail.
const subscriptionCreated = (customer: string, subscription: string, second = 3): Delivery => [
  domainEvent('SubscriptionActivated', { occurredAt: at(second), subscriptionId: subscription, plan, mrrCents: 4900, currency: 'usd' }),
  claimsOf({ customer, lookups: [['stripe_subscription', subscription]] }),
];
const invoicePaid = (customer: string, email: string, subscription: string, second = 3): Delivery => [
  domainEvent('PaymentSucceeded', { occurredAt: at(second), invoiceId: `in_${customer}_${second}`, subscriptionId: subscription, amountCents: 4900, currency: 'usd' }),
  claimsOf({ customer, email, lookups: [['stripe_invoice', `in_${customer}_${second}`], ['stripe_subscription', subscription]] }),
];

describeOnEachDatabase('identity resolution', (suite) => {
  const { skip } = suite;
  let db: LedgerDatabase;
  before(() => {
    if (!skip) db = suite.db;
  });

  const owner = (kind: string, externalId: string) => db.store.resolveIdentity(kind, externalId);
  // Read from the table itself: readAll is fenced below the server's oldest open transaction,
  // which another suite on the same Postgres may be holding.
  async function customers(): Promise<Set<string>> {
    const { rows } = await db.sql.query<{ stream_id: string }>('select distinct stream_id from ledger_events');
    return new Set(rows.map((row) => customerIdOfStream(row.stream_id)));
  }
  async function customersCreatedSince(before: Set<string>): Promise<Set<string>> {
    return new Set([...(await customers())].filter((customerId) => !before.has(customerId)));
  }
  async function eventCount(): Promise<number> {
    const { rows } = await db.sql.query<{ n: number }>('select count(*)::int as n from ledger_events');
    return rows[0]?.n ?? 0;
  }

  test('a CRM lead, then a Stripe customer with its e-mail: one customer, linked', { skip }, async () => {
    const email = 'ada@example.com';
    const lead = await deliver(db, ...crmLead('crm_ada', email));
    const linked = await deliver(db, ...stripeProfile('cus_ada', email));
    assert.equal(linked.customerId, lead.customerId);
    await deliver(db, ...subscriptionCreated('cus_ada', 'sub_ada'));

    const { state } = await loadCustomer(db.store, lead.customerId);
    assert.equal(state.lifecycle, 'active');
    assert.equal(state.review, null);
    assert.deepEqual(
      state.identities.map((i) => `${i.kind}:${i.externalId}`).sort(),
      ['crm:crm_ada', `email:${email}`, 'stripe:cus_ada'],
    );
    assert.equal(await owner('stripe', 'cus_ada'), lead.customerId);
    assert.equal(await owner('stripe_subscription', 'sub_ada'), lead.customerId);
  });

  test('two Stripe customers with one e-mail: two customers, the second flagged ambiguous_identity', { skip }, async () => {
    const email = 'grace@example.com';
    const before = await customers();
    const first = await deliver(db, ...stripeProfile('cus_grace_1', email));
    await deliver(db, ...subscriptionCreated('cus_grace_1', 'sub_grace_1'));
    const second = await deliver(db, ...invoicePaid('cus_grace_2', email, 'sub_grace_2', 4));
    assert.notEqual(second.customerId, first.customerId);

    const theFirst = await loadCustomer(db.store, first.customerId);
    assert.equal(theFirst.state.lifecycle, 'active', 'the first customer is untouched');
    assert.deepEqual(theFirst.state.identities.filter((i) => i.kind === 'stripe'), [{ kind: 'stripe', externalId: 'cus_grace_1' }]);

    const theSecond = await loadCustomer(db.store, second.customerId);
    assert.equal(theSecond.state.lifecycle, 'needs_review');
    assert.equal(theSecond.state.review?.reason, 'ambiguous_identity');
    assert.equal(theSecond.state.review?.from, 'active', 'resolving the review returns it to what its payment made it');
    assert.deepEqual(theSecond.events.map((e) => e.type), ['IdentityLinked', 'PaymentSucceeded', 'LifecycleChanged', 'FlaggedForReview']);
    assert.deepEqual(theSecond.events.at(-1)?.data, {
      reason: 'ambiguous_identity',
      from: 'active',
      cause: { type: 'PaymentSucceeded', occurredAt: at(4) },
      identity: {
        claimed: { kind: 'stripe', externalId: 'cus_grace_2' },
        matchedBy: { kind: 'email', externalId: email },
        otherCustomerId: first.customerId,
        otherHolds: { kind: 'stripe', externalId: 'cus_grace_1' },
      },
    });
    assert.deepEqual(theSecond.state.identities, [{ kind: 'stripe', externalId: 'cus_grace_2' }], 'the e-mail stays with the first customer');
    assert.equal(await owner('email', email), first.customerId);
    assert.equal(await owner('stripe_subscription', 'sub_grace_2'), second.customerId, 'its own objects are its own');

    // Later deliveries follow each Stripe id to its own customer; none creates a third.
    const later = await deliver(db, ...stripeProfile('cus_grace_2', email, 9));
    assert.equal(later.customerId, second.customerId);
    assert.equal((await deliver(db, ...invoicePaid('cus_grace_1', email, 'sub_grace_1', 9))).customerId, first.customerId);
    assert.deepEqual(await customersCreatedSince(before), new Set([first.customerId, second.customerId]));
    assert.equal((await loadCustomer(db.store, second.customerId)).events.filter((e) => e.type === 'FlaggedForReview').length, 1);
  });

  test('the second Stripe customer is flagged whichever of its events comes first', { skip }, async () => {
    const email = 'hedy@example.com';
    const first = await deliver(db, ...stripeProfile('cus_hedy_1', email));
    // Its subscription event names no e-mail: nothing ties it to the first customer yet.
    const second = await deliver(db, ...subscriptionCreated('cus_hedy_2', 'sub_hedy_2', 4));
    assert.notEqual(second.customerId, first.customerId);
    assert.equal((await loadCustomer(db.store, second.customerId)).state.lifecycle, 'active');
    // Its profile then shows the e-mail of another customer: one e-mail, two customers.
    const profile = await deliver(db, ...stripeProfile('cus_hedy_2', email, 5));
    assert.equal(profile.customerId, second.customerId);
    const { state, events } = await loadCustomer(db.store, second.customerId);
    assert.equal(state.review?.reason, 'ambiguous_identity');
    assert.equal(state.review?.from, 'active');
    assert.deepEqual(events.at(-1)?.data, {
      reason: 'ambiguous_identity',
      from: 'active',
      cause: { type: 'CustomerProfileUpdated', occurredAt: at(5) },
      identity: { claimed: { kind: 'stripe', externalId: 'cus_hedy_2' }, matchedBy: { kind: 'email', externalId: email }, otherCustomerId: first.customerId },
    });
    assert.equal(await owner('email', email), first.customerId);
  });

  test('a CRM lead and a Stripe customer started apart are not left silently as two', { skip }, async () => {
    const email = 'frances@example.com';
    const lead = await deliver(db, ...crmLead('crm_frances', email));
    const paying = await deliver(db, ...subscriptionCreated('cus_frances', 'sub_frances', 4));
    await deliver(db, ...invoicePaid('cus_frances', email, 'sub_frances', 5));
    const { state } = await loadCustomer(db.store, paying.customerId);
    assert.equal(state.review?.reason, 'ambiguous_identity', 'a human merges or confirms');
    assert.equal((await loadCustomer(db.store, lead.customerId)).state.review, null, 'the lead is not touched');
  });

  test('once a human has answered, the same shared e-mail is not flagged again', { skip }, async () => {
    const email = 'radia@example.com';
    await deliver(db, ...stripeProfile('cus_radia_1', email));
    const second = await deliver(db, ...invoicePaid('cus_radia_2', email, 'sub_radia_2', 4));
    await handleCommand(
      { store: db.store, now: () => new Date('2026-03-01T00:00:00Z') },
      {
        command: { type: 'ApplyManualOverride', action: 'resolve_review', reason: 'Two people share a family address', actor: { id: 'usr_support', role: 'support' } },
        customerId: second.customerId,
        identities: [],
        createIfMissing: false,
        metadata: { source: 'admin', correlationId: 'corr_radia_review' },
      },
    );
    await deliver(db, ...invoicePaid('cus_radia_2', email, 'sub_radia_2', 40));
    await deliver(db, ...stripeProfile('cus_radia_2', email, 41));
    const { state, events } = await loadCustomer(db.store, second.customerId);
    assert.equal(state.lifecycle, 'active');
    assert.equal(events.filter((e) => e.type === 'FlaggedForReview').length, 1);
  });

  test('the same conflict for the CRM: a second contact with a known e-mail is not merged', { skip }, async () => {
    const email = 'alan@example.com';
    const first = await deliver(db, ...crmLead('crm_alan_1', email));
    const second = await deliver(db, ...crmLead('crm_alan_2', email));
    assert.notEqual(second.customerId, first.customerId);
    const { state } = await loadCustomer(db.store, second.customerId);
    assert.equal(state.review?.reason, 'ambiguous_identity');
    assert.equal(state.review?.from, 'lead');
  });

  test('an ambiguous match that may not create a customer is unmatched, and nothing is appended', { skip }, async () => {
    const email = 'edsger@example.com';
    await deliver(db, ...stripeProfile('cus_edsger_1', email));
    const events = await eventCount();
    await assert.rejects(deliver(db, ...stripeProfile('cus_edsger_2', email), { createIfMissing: false }), CustomerNotFoundError);
    assert.equal(await eventCount(), events);
    assert.equal(await owner('stripe', 'cus_edsger_2'), undefined);
  });

  test('a re-delivered ambiguous event is a duplicate, not a third customer', { skip }, async () => {
    const email = 'barbara@example.com';
    const before = await customers();
    await deliver(db, ...stripeProfile('cus_barbara_1', email));
    const first = await deliver(db, ...invoicePaid('cus_barbara_2', email, 'sub_barbara_2'), { id: 'evt_barbara_again' });
    const again = await Promise.all(Array.from({ length: 5 }, () => deliver(db, ...invoicePaid('cus_barbara_2', email, 'sub_barbara_2'), { id: 'evt_barbara_again' })));
    for (const result of again) {
      assert.equal(result.duplicate, true);
      assert.equal(result.customerId, first.customerId);
    }
    assert.equal((await customersCreatedSince(before)).size, 2);
  });

  test('concurrent first deliveries of a second Stripe customer: one new customer, flagged once', { skip }, async () => {
    const email = 'katherine@example.com';
    const before = await customers();
    const first = await deliver(db, ...stripeProfile('cus_kj_1', email));
    const results = await Promise.all([
      deliver(db, ...stripeProfile('cus_kj_2', email, 5)),
      deliver(db, ...subscriptionCreated('cus_kj_2', 'sub_kj_2', 5)),
      deliver(db, ...invoicePaid('cus_kj_2', email, 'sub_kj_2', 5)),
      deliver(db, ...invoicePaid('cus_kj_2', email, 'sub_kj_2', 6)),
    ]);
    const seconds = new Set(results.map((r) => r.customerId));
    assert.equal(seconds.size, 1, 'every delivery for cus_kj_2 lands on one customer');
    const [second] = seconds;
    assert.notEqual(second, first.customerId);
    assert.equal(await owner('stripe', 'cus_kj_2'), second);
    assert.deepEqual(await customersCreatedSince(before), new Set([first.customerId, second]), 'two customers, never three');
    const { events, state } = await loadCustomer(db.store, second!);
    assert.equal(state.review?.reason, 'ambiguous_identity');
    assert.equal(events.filter((e) => e.type === 'FlaggedForReview').length, 1);
    assert.equal(events.filter((e) => e.type === 'IdentityLinked').length, 1);
  });

  test('two Stripe customers racing for one CRM lead: one is linked, the other flagged, no third', { skip }, async () => {
    const email = 'margaret@example.com';
    const before = await customers();
    const lead = await deliver(db, ...crmLead('crm_mh', email));
    const results = await Promise.all([
      deliver(db, ...stripeProfile('cus_mh_1', email, 5)),
      deliver(db, ...stripeProfile('cus_mh_2', email, 5)),
      deliver(db, ...invoicePaid('cus_mh_1', email, 'sub_mh_1', 6)),
      deliver(db, ...invoicePaid('cus_mh_2', email, 'sub_mh_2', 6)),
    ]);
    const owners = [await owner('stripe', 'cus_mh_1'), await owner('stripe', 'cus_mh_2')];
    assert.equal(new Set(results.map((r) => r.customerId)).size, 2);
    assert.deepEqual(new Set(results.map((r) => r.customerId)), new Set(owners));
    assert.ok(owners.includes(lead.customerId), 'one of them is linked to the lead');
    const other = owners.find((customerId) => customerId !== lead.customerId)!;

    const theLead = await loadCustomer(db.store, lead.customerId);
    assert.equal(theLead.state.identities.filter((i) => i.kind === 'stripe').length, 1, 'the lead holds exactly one Stripe customer');
    assert.equal(theLead.state.review, null);
    assert.equal(theLead.state.lifecycle, 'active');
    const theOther = await loadCustomer(db.store, other);
    assert.equal(theOther.state.review?.reason, 'ambiguous_identity');
    const flag = theOther.events.find((e) => e.type === 'FlaggedForReview')?.data as { identity?: { otherCustomerId: string } } | undefined;
    assert.equal(flag?.identity?.otherCustomerId, lead.customerId, 'the reviewer is pointed at the lead');
    assert.deepEqual(await customersCreatedSince(before), new Set([lead.customerId, other]), 'two customers, never three');
  });
});
