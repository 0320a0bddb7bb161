import type { RecordedEvent } from '../../contracts/eventMetadata.ts';

// Another process changed the read model's shared document first; the batch is retried.
export class SharedStateConflict extends Error {
  constructor(readonly readModel: string) {
    super(`shared state of ${readModel} changed concurrently; retrying the batch`);
  }
}

// A read model's event failed to apply: nothing of that read model's batch is written, and the
// batch is retried until the event has used its attempts (then it is parked).
// The event is not an enumerable property: a logger (pino's err serializer, JSON.stringify)
// would write its data — a customer's e-mail, name, phone — on every retry. The log line names
// the event by id and correlation id instead (projector.ts).
export class ProjectionFailure extends Error {
  declare readonly event: RecordedEvent;

  constructor(event: RecordedEvent, readonly attempts: number, cause: unknown) {
    super(`projection failed on event ${event.eventId}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    Object.defineProperty(this, 'event', { value: event, enumerable: false });
  }
}
