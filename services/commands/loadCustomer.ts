import { parseDomainEvent, type DomainEvent } from '../../contracts/domainEvents.ts';
import type { RecordedEvent } from '../../contracts/eventMetadata.ts';
import { evolve, initialState, type CustomerState } from '../../domain/customerState.ts';
import type { EventStore } from '../eventstore/port.ts';
import { streamIdOf } from './customerIds.ts';

export interface LoadedCustomer {
  customerId: string;
  state: CustomerState;
  // undefined: no stream yet.
  version: number | undefined;
  events: RecordedEvent[];
}

// Stored events are upcast to today's schema before the domain sees them.
export const toDomainEvent = (event: RecordedEvent): DomainEvent => parseDomainEvent(event.type, event.schemaVersion, event.data);

// From the start of the stream, or onto `from`, the state the events continue.
export function foldCustomer(events: RecordedEvent[], from: CustomerState = initialState): CustomerState {
  return events.reduce((state, event) => evolve(state, toDomainEvent(event)), from);
}

export const loadedFrom = (customerId: string, events: RecordedEvent[]): LoadedCustomer => ({
  customerId,
  state: foldCustomer(events),
  version: events.at(-1)?.version,
  events,
});

export async function loadCustomer(store: EventStore, customerId: string, toVersion?: number): Promise<LoadedCustomer> {
  return loadedFrom(customerId, await store.readStream(streamIdOf(customerId), toVersion === undefined ? {} : { toVersion }));
}
