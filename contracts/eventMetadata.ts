import { z } from 'zod';

// Where a fact came from. `ledger` marks events the service itself decides (lifecycle decisions,
// manual overrides); the others are external producers.
export const EventSource = z.enum(['stripe', 'crm', 'support', 'app', 'admin', 'ledger', 'kafka']);
export type EventSource = z.infer<typeof EventSource>;

export const Actor = z.object({
  id: z.string().min(1),
  role: z.enum(['viewer', 'support', 'admin', 'system']),
});
export type Actor = z.infer<typeof Actor>;

export const EventMetadata = z.object({
  customerId: z.string().regex(/^cust_[0-9A-Za-z]+$/),
  // The source's own time for the fact (Stripe `created`, HubSpot `occurredAt`, …), ISO 8601.
  occurredAt: z.string(),
  source: EventSource,
  sourceEventId: z.string().optional(),
  // The provider's own type of the event the fact came from (Stripe `invoice.paid`, Zendesk
  // `zen:event-type:ticket.created`): tells a re-delivery from an event id reused for another event.
  sourceType: z.string().optional(),
  // The app's request (route and body, hashed) under its Idempotency-Key: tells a retry from a key
  // reused for another request once the key's stored answer has expired.
  requestHash: z.string().optional(),
  correlationId: z.string().min(1),
  // The event id (or delivery id) this event was caused by.
  causationId: z.string().optional(),
  traceparent: z.string().optional(),
  actor: Actor.optional(),
});
export type EventMetadata = z.infer<typeof EventMetadata>;

// An event as the domain produces it, before the store gives it an id, a version and a position.
export interface NewEvent<Type extends string = string, Data = unknown> {
  type: Type;
  schemaVersion: number;
  data: Data;
  metadata: EventMetadata;
}

// An event as it was stored.
export interface RecordedEvent<Type extends string = string, Data = unknown> extends NewEvent<Type, Data> {
  eventId: string;
  streamId: string;
  version: number;
  position: bigint;
  recordedAt: string;
}
