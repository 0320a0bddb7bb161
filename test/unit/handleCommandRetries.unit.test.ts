import assert from 'node:assert/strict';
import { test } from 'node:test';
import { domainEvent } from '../../contracts/domainEvents.ts';
import { ConcurrencyError, LedgerError } from '../../domain/errors.ts';
import { handleCommand } from '../../services/commands/handleCommand.ts';
import type { EventStore } from '../../services/eventstore/port.ts';

// A store that always loses the race: the retry policy, not the adapter, is under test here.
function alwaysContended(): { store: EventStore; appends: () => number } {
  let appends = 0;
  const store = {
    loadCommandContext: async () => ({ owners: new Map([['app:user_busy', 'cust_busy']]) }),
    resolveIdentities: async () => new Map([['app:user_busy', 'cust_busy']]),
    readStream: async () => [],
    append: async () => {
      appends += 1;
      throw new ConcurrencyError('customer-cust_busy', 'no_stream', 1);
    },
  } as unknown as EventStore;
  return { store, appends: () => appends };
}

test('a customer that keeps losing races ends in a retryable 503, after bounded attempts', async () => {
  const { store, appends } = alwaysContended();
  await assert.rejects(
    handleCommand(
      { store, now: () => new Date('2026-01-01T00:00:00Z') },
      {
        command: { type: 'RecordFact', fact: domainEvent('LeadCaptured', { occurredAt: '2026-01-01T00:00:00Z', email: 'busy@example.com' }) },
        identities: [{ kind: 'app', externalId: 'user_busy' }],
        createIfMissing: true,
        metadata: { source: 'app', correlationId: 'c' },
      },
    ),
    (error: unknown) => error instanceof LedgerError && error.code === 'LEDGER_BUSY' && error.status === 503,
  );
  assert.equal(appends(), 25);
});
