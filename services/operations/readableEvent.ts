import type { DomainEvent } from '../../contracts/domainEvents.ts';
import type { RecordedEvent } from '../../contracts/eventMetadata.ts';
import { LedgerError } from '../../domain/errors.ts';
import { toDomainEvent } from '../commands/loadCustomer.ts';

// A stored event as this build reads it, or why it cannot: the incident tools must still show
// a stream that holds a poisoned event (that is often the incident), not fail on it.
export type Reading = { readable: true; event: DomainEvent } | { readable: false; problem: string };

export function readRecorded(recorded: RecordedEvent): Reading {
  try {
    return { readable: true, event: toDomainEvent(recorded) };
  } catch (error) {
    if (error instanceof LedgerError && error.code === 'LEDGER_EVENT_SCHEMA') return { readable: false, problem: error.message };
    throw error;
  }
}
