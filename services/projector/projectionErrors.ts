import type { RecordedEvent } from '../../contracts/eventMetadata.ts';

// Another process changed the read model's shared document first; the batch is retried.
export class SharedStateConflict extends Error {
  constructor(readonly readModel: string) {
    super(`shared state of ${readModel} changed concurrently; retrying the batch`);
  }
}

// A read model's event failed to apply: nothing of that read model's batch is written, and the
// batch is retried until the event has used its attempts (then it is parked).
export class ProjectionFailure extends Error {
  constructor(readonly event: RecordedEvent, readonly attempts: number, cause: unknown) {
    super(`projection failed on event ${event.eventId}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
