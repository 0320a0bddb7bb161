import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { domainEvent, type FactEvent } from '../../contracts/domainEvents.ts';
import { customerCacheOf } from '../../services/commands/customerCache.ts';
import { handleCommand } from '../../services/commands/handleCommand.ts';
import { foldCustomer, loadCustomer } from '../../services/commands/loadCustomer.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import type { CommandContext, EventStore, IdentityClaim } from '../../services/eventstore/port.ts';
import { PostgresEventStore } from '../../services/eventstore/postgresEventStore.ts';
import { claimsOf } from '../../services/ingest/stripe/stripeFacts.ts';
import { describeOnEachDatabase } from '../support/databases.ts';

// A delivery for a customer this process has seen reads only what was appended since, not the
// whole history again, and still decides on exactly what the store holds, including what
// another process appended meanwhile.

const plan = { priceId: 'price_pro', nickname: 'Pro' };
const at = (second: number) => new Date(Date.UTC(2026, 1, 1, 0, 0, second)).toISOString();

let deliveries = 0;
function deliver(store: EventStore, fact: FactEvent, identities: IdentityClaim[], sourceEventId = `evt_cache_${(deliveries += 1)}`) {
  return handleCommand(
    { store, now: () => new Date('2026-03-01T00:00:00Z') },
    {
      command: { type: 'RecordFact', fact },
      identities,
      createIfMissing: true,
      idempotencyKey: { source: 'stripe', sourceEventId },
      metadata: { source: 'stripe', sourceEventId, correlationId: `corr_${sourceEventId}` },
    },
  );
}

const activated = (customer: string, subscription: string, second: number) =>
  [
    domainEvent('SubscriptionActivated', { occurredAt: at(second), subscriptionId: subscription, plan, mrrCents: 4900, currency: 'usd' }),
    claimsOf({ customer, lookups: [['stripe_subscription', subscription]] }),
  ] as const;
const paid = (customer: string, subscription: string, second: number) =>
  [
    domainEvent('PaymentSucceeded', { occurredAt: at(second), invoiceId: `in_${customer}_${second}`, subscriptionId: subscription, amountCents: 4900, currency: 'usd' }),
    claimsOf({ customer, lookups: [['stripe_invoice', `in_${customer}_${second}`], ['stripe_subscription', subscription]] }),
  ] as const;
const canceled = (customer: string, subscription: string, second: number) =>
  [domainEvent('SubscriptionCanceled', { occurredAt: at(second), subscriptionId: subscription }), claimsOf({ customer })] as const;

// The store as the command path sees it, recording how many events each context read carried.
function counting(store: EventStore): { store: EventStore; eventsRead: number[] } {
  const eventsRead: number[] = [];
  const wrapped = Object.create(store) as EventStore;
  wrapped.loadCommandContext = async (query) => {
    const context: CommandContext = await store.loadCommandContext(query);
    eventsRead.push(context.stream?.events.length ?? 0);
    return context;
  };
  return { store: wrapped, eventsRead };
}

describeOnEachDatabase('customer cache', (suite) => {
  const { skip } = suite;
  let db: LedgerDatabase;
  before(() => {
    if (!skip) db = suite.db;
  });

  test('a long-lived customer: each delivery reads only what was appended since this process last read or appended', { skip }, async () => {
    const { store, eventsRead } = counting(db.store);
    const first = await deliver(store, ...activated('cus_cache_long', 'sub_long', 1));
    for (let second = 2; second <= 40; second += 1) await deliver(store, ...paid('cus_cache_long', 'sub_long', second));

    const full = await loadCustomer(db.store, first.customerId);
    assert.ok(full.events.length >= 40, `a history of ${full.events.length} events`);
    // Each append's events were folded into the cache, so no context read carried any.
    assert.deepEqual(new Set(eventsRead), new Set([0]), `events per context read: ${eventsRead.join(',')}`);
    assert.equal(eventsRead.length, 40);
    const cached = customerCacheOf(store).get(first.customerId);
    assert.equal(cached?.version, full.version, 'the cache is at the head of the stream');
    assert.deepEqual(cached?.state, full.state, 'the cached fold is the fold of the stream');
  });

  test('a re-delivery for a cached customer gets its first answer, and nothing is appended', { skip }, async () => {
    const { store } = counting(db.store);
    await deliver(store, ...activated('cus_cache_again', 'sub_again', 1));
    const original = await deliver(store, ...paid('cus_cache_again', 'sub_again', 2), 'evt_cache_again');
    const before = await loadCustomer(db.store, original.customerId);
    const again = await deliver(store, ...paid('cus_cache_again', 'sub_again', 2), 'evt_cache_again');
    assert.equal(again.duplicate, true);
    assert.deepEqual(again.eventIds, original.eventIds);
    assert.equal(again.customerId, original.customerId);
    assert.equal((await loadCustomer(db.store, original.customerId)).events.length, before.events.length);
  });

  test('a cached customer\'s delivery names a lookup id another customer holds: it is not taken, and the cache stays exact', { skip }, async () => {
    const { store } = counting(db.store);
    const mine = await deliver(store, ...activated('cus_cache_mine', 'sub_mine', 1));
    const theirs = await deliver(store, ...activated('cus_cache_theirs', 'sub_theirs', 1));
    // A payment for this customer naming an invoice id the other customer already holds.
    const [fact] = paid('cus_cache_mine', 'sub_mine', 2);
    const claims = claimsOf({ customer: 'cus_cache_mine', lookups: [['stripe_invoice', 'in_cache_theirs'], ['stripe_subscription', 'sub_mine']] });
    await deliver(store, paid('cus_cache_theirs', 'sub_theirs', 2)[0], claimsOf({ customer: 'cus_cache_theirs', lookups: [['stripe_invoice', 'in_cache_theirs']] }));

    const result = await deliver(store, fact, claims);
    assert.equal(result.customerId, mine.customerId, 'the payment is the customer its Stripe id names');
    assert.equal(result.duplicate, false);
    const owners = await db.store.resolveIdentities([{ kind: 'stripe_invoice', externalId: 'in_cache_theirs' }]);
    assert.equal(owners.get('stripe_invoice:in_cache_theirs'), theirs.customerId, 'the invoice id stays where it was');
    const full = await loadCustomer(db.store, mine.customerId);
    assert.deepEqual(customerCacheOf(store).get(mine.customerId)?.state, full.state);
  });

  test("another process's appends are read and folded in before this one decides", { skip }, async () => {
    // Two stores on one database: two service processes, each with its own cache.
    const here = counting(db.store);
    const elsewhere = new PostgresEventStore(db.sql);
    const customer = 'cus_cache_two';
    const created = await deliver(here.store, ...activated(customer, 'sub_two_a', 1));
    await deliver(here.store, ...paid(customer, 'sub_two_a', 2));
    assert.equal(customerCacheOf(here.store).get(created.customerId)?.version !== undefined, true);

    // The other process cancels the subscription; this one's cache knows nothing of it.
    await deliver(elsewhere, ...canceled(customer, 'sub_two_a', 3));
    assert.equal((await loadCustomer(db.store, created.customerId)).state.lifecycle, 'canceled');

    // A new subscription here is a return from canceled, not a second plan of an active customer.
    const returned = await deliver(here.store, ...activated(customer, 'sub_two_b', 4));
    const change = returned.decided.find((e) => e.type === 'LifecycleChanged');
    assert.deepEqual(change && { from: change.data.from, to: change.data.to }, { from: 'canceled', to: 'active' });
    assert.ok(here.eventsRead.at(-1)! >= 2, 'it read the cancellation written elsewhere');
    assert.ok(here.eventsRead.at(-1)! < (await loadCustomer(db.store, created.customerId)).events.length, 'and not the whole stream');

    const full = await loadCustomer(db.store, created.customerId);
    const cached = customerCacheOf(here.store).get(created.customerId)!;
    assert.deepEqual(cached.state, foldCustomer(full.events.filter((e) => e.version <= cached.version)));
  });

  test('a hint gone stale (the claim moved to another customer) still reads the right stream', { skip }, async () => {
    const { store } = counting(db.store);
    const a = await deliver(store, ...activated('cus_cache_hint', 'sub_hint', 1));
    // Poison the hint: the claim now points at a customer the store does not give it to.
    const other = await deliver(store, ...activated('cus_cache_other', 'sub_other', 1));
    customerCacheOf(store).rememberOwner({ kind: 'stripe', externalId: 'cus_cache_hint' }, other.customerId);
    const next = await deliver(store, ...paid('cus_cache_hint', 'sub_hint', 2));
    assert.equal(next.customerId, a.customerId);
    assert.equal((await loadCustomer(db.store, a.customerId)).state.lifecycle, 'active');
  });
});
