import type { DomainEvent } from '../contracts/domainEvents.ts';
import type { CustomerState } from '../domain/customerState.ts';

// What a read model sees of one event: the event (upcast to today's schema), where it sits in
// the log, and the customer's state just before and just after it (folded by the runtime with
// domain `evolve`, so read models never re-derive the lifecycle).
export interface ProjectedEvent {
  event: DomainEvent;
  eventId: string;
  customerId: string;
  // Global position, as a decimal string (bigint does not survive JSON).
  position: string;
  streamVersion: number;
  occurredAt: string;
  recordedAt: string;
  correlationId: string;
  before: CustomerState;
  after: CustomerState;
}

// A read model is a document per customer, changed only by this pure function. The runtime
// loads the document, feeds it the customer's events in order, and writes it back in the same
// transaction as the checkpoint. `shared` is one document per read model for what spans
// customers (e.g. a round-robin counter); it is part of the same transaction.
export interface ReadModel<Doc, Shared, Options> {
  name: ReadModelName;
  initialShared: Shared;
  apply(doc: Doc | undefined, input: ProjectedEvent, context: { options: Options; shared: Shared }): { doc: Doc | undefined; shared: Shared };
}

export type ReadModelName = 'crm' | 'support' | 'app';
