import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDomainEvent } from '../../contracts/domainEvents.ts';
import { defineUpcasters, splitFullName, toMinorUnits } from '../../contracts/upcasters.ts';

// A v1 event stored today must read as v2 tomorrow, without rewriting the stored row.

describe('upcasters: stored v1 events read as today\'s version', () => {
  test('LeadCaptured v1 (one name string) reads as v2 (first and last name)', () => {
    const storedV1 = { occurredAt: '2024-05-01T10:00:00Z', email: 'ada@example.com', name: '  Ada  King Lovelace ', channel: 'app' };
    assert.deepEqual(parseDomainEvent('LeadCaptured', 1, storedV1), {
      type: 'LeadCaptured',
      schemaVersion: 2,
      data: { occurredAt: '2024-05-01T10:00:00Z', email: 'ada@example.com', firstName: 'Ada', lastName: 'King Lovelace', channel: 'app' },
    });
  });

  test('PaymentSucceeded v1 (a float amount) reads as v2 (integer minor units)', () => {
    const storedV1 = { occurredAt: '2024-05-01T10:00:00Z', invoiceId: 'in_1', subscriptionId: 'sub_1', amount: 19.99, currency: 'usd' };
    assert.deepEqual(parseDomainEvent('PaymentSucceeded', 1, storedV1), {
      type: 'PaymentSucceeded',
      schemaVersion: 2,
      data: { occurredAt: '2024-05-01T10:00:00Z', invoiceId: 'in_1', subscriptionId: 'sub_1', amountCents: 1999, currency: 'usd' },
    });
  });

  test('a current-version event passes through untouched', () => {
    const data = { occurredAt: '2026-01-01T00:00:00Z', firstName: 'Ada' };
    assert.deepEqual(parseDomainEvent('LeadCaptured', 2, data).data, data);
  });

  test('a v1 payload that was already invalid is reported, not guessed at', () => {
    assert.throws(() => parseDomainEvent('PaymentSucceeded', 1, { occurredAt: '2024-05-01T10:00:00Z', amount: 5, currency: 'usd' }), {
      code: 'LEDGER_EVENT_SCHEMA',
    });
  });

  test('a version newer than ours is refused, not read with today\'s rules', () => {
    assert.throws(() => parseDomainEvent('LeadCaptured', 3, {}), { code: 'LEDGER_EVENT_SCHEMA' });
    assert.throws(() => parseDomainEvent('LeadCaptured', 0, {}), { code: 'LEDGER_EVENT_SCHEMA' });
  });

  test('minor units follow the currency', () => {
    assert.equal(toMinorUnits(19.99, 'usd'), 1999);
    assert.equal(toMinorUnits(0.29, 'eur'), 29);
    assert.equal(toMinorUnits(500, 'jpy'), 500);
    assert.equal(toMinorUnits(1.234, 'kwd'), 1234);
  });

  test('names split on the first space', () => {
    assert.deepEqual(splitFullName('Cher'), { firstName: 'Cher' });
    assert.deepEqual(splitFullName('   '), {});
    assert.deepEqual(splitFullName(undefined), {});
  });
});

describe('upcasters: the mechanism', () => {
  const chain = defineUpcasters(
    [
      { type: 'TicketOpened', fromVersion: 1, upcast: (data) => ({ ...(data as object), v2: true }) },
      { type: 'TicketOpened', fromVersion: 2, upcast: (data) => ({ ...(data as object), v3: true }) },
    ],
    { TicketOpened: 3 },
  );

  test('steps chain from the stored version to the current one, in order', () => {
    assert.deepEqual(chain.upcast('TicketOpened', 1, { v1: true }), { v1: true, v2: true, v3: true });
    assert.deepEqual(chain.upcast('TicketOpened', 2, { v2: true }), { v2: true, v3: true });
    assert.deepEqual(chain.upcast('TicketOpened', 3, { v3: true }), { v3: true });
  });

  test('a gap in a chain fails when the upcasters are defined, not on first read', () => {
    assert.throws(() => defineUpcasters([{ type: 'TicketOpened', fromVersion: 2, upcast: (data) => data }], { TicketOpened: 3 }), /Missing upcaster for TicketOpened v1/);
  });

  test('two upcasters for one step are refused', () => {
    const step = { type: 'TicketOpened' as const, fromVersion: 1, upcast: (data: unknown) => data };
    assert.throws(() => defineUpcasters([step, step], { TicketOpened: 2 }), /Two upcasters/);
  });
});
