import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DECISION_TYPES,
  domainEvent,
  domainEventSchemas,
  FACT_TYPES,
  isFactEvent,
  parseDomainEvent,
  SCHEMA_VERSIONS,
  type DomainEventType,
} from '../../contracts/domainEvents.ts';
import { FACT_CASES, type FactCaseName } from '../../domain/lifecycleTable.ts';
import { sampleFact } from './lifecycleFixtures.ts';

describe('domain event contracts', () => {
  test('every event type has a schema at its current version', () => {
    assert.deepEqual(Object.keys(domainEventSchemas).sort(), Object.keys(SCHEMA_VERSIONS).sort());
    for (const [type, { version }] of Object.entries(domainEventSchemas)) {
      assert.equal(version, SCHEMA_VERSIONS[type as DomainEventType]);
    }
  });

  test('facts and decisions partition the event types', () => {
    assert.equal(FACT_TYPES.length + DECISION_TYPES.length, Object.keys(SCHEMA_VERSIONS).length);
  });

  test('every sample fact the tests use is valid against its contract, and round-trips', () => {
    for (const name of Object.keys(FACT_CASES) as FactCaseName[]) {
      const fact = sampleFact(name, 7);
      assert.ok(isFactEvent(fact));
      assert.deepEqual(parseDomainEvent(fact.type, fact.schemaVersion, fact.data), fact, name);
    }
  });

  test('decisions validate too', () => {
    const changed = domainEvent('LifecycleChanged', { from: 'lead', to: 'trial', cause: { type: 'TrialStarted', occurredAt: '2026-01-01T00:00:00Z' } });
    assert.deepEqual(parseDomainEvent(changed.type, changed.schemaVersion, changed.data), changed);
    assert.equal(isFactEvent(changed), false);
  });

  const rejected: [string, DomainEventType, unknown, string[]][] = [
    ['money as a float', 'PaymentFailed', { occurredAt: '2026-01-01T00:00:00Z', invoiceId: 'in_1', amountCents: 19.99, currency: 'usd' }, ['amountCents']],
    ['an upper-case currency', 'PaymentFailed', { occurredAt: '2026-01-01T00:00:00Z', invoiceId: 'in_1', amountCents: 1999, currency: 'USD' }, ['currency']],
    ['a payment naming no payment', 'PaymentFailed', { occurredAt: '2026-01-01T00:00:00Z', amountCents: 1, currency: 'usd' }, ['']],
    ['a time without a zone', 'TicketClosed', { occurredAt: '2026-01-01 00:00:00', ticketId: 't', status: 'closed' }, ['occurredAt']],
    [
      'a refund above its charge',
      'RefundIssued',
      { occurredAt: '2026-01-01T00:00:00Z', chargeId: 'ch', chargeAmountCents: 100, refundedAmountCents: 200, currency: 'usd' },
      ['refundedAmountCents'],
    ],
    ['an unknown subscription status', 'SubscriptionChanged', { occurredAt: '2026-01-01T00:00:00Z', subscriptionId: 's', plan: { priceId: 'p' }, status: 'pending' }, ['status']],
    ['an empty profile update', 'CustomerProfileUpdated', { occurredAt: '2026-01-01T00:00:00Z' }, ['']],
    ['an unknown review reason', 'FlaggedForReview', { reason: 'vibes', from: 'lead', cause: { type: 'X', occurredAt: '2026-01-01T00:00:00Z' } }, ['reason']],
  ];
  for (const [what, type, data, paths] of rejected) {
    test(`rejects ${what}, naming the field`, () => {
      assert.throws(
        () => parseDomainEvent(type, SCHEMA_VERSIONS[type], data),
        (error: { code?: string; details?: { issues?: { path: string }[] } }) => {
          assert.equal(error.code, 'LEDGER_EVENT_SCHEMA');
          assert.deepEqual(error.details?.issues?.map((issue) => issue.path), paths);
          return true;
        },
      );
    });
  }

  test('rejects an unknown event type', () => {
    assert.throws(() => parseDomainEvent('CustomerTeleported', 1, {}), { code: 'LEDGER_EVENT_SCHEMA' });
    assert.throws(() => parseDomainEvent('toString', 1, {}), { code: 'LEDGER_EVENT_SCHEMA' });
  });
});
