import { z } from 'zod';
import { EventMetadata } from './eventMetadata.ts';

// What the relay publishes to the events topic (default `customer-ledger.events`) for every
// recorded event, and what every consumer (our projectors, other teams) parses. The Kafka key is
// the customer id, so one customer's events stay in one partition, in order.
//
// Delivery is at-least-once: after a relay crash or a broker outage an event may appear twice,
// even after later events. Consumers de-duplicate by `eventId` (or, per customer, by `position`:
// a customer's events arrive in increasing position, so one at or below the last applied is a
// repeat).
//
// Versioning: `envelopeVersion` changes only for a breaking change to this shape; fields are
// only ever added. The event's own `schemaVersion` versions `data` (upcast with
// contracts/upcasters.ts, or `parseDomainEvent`).

export const KAFKA_ENVELOPE_VERSION = 1;

export const KafkaEnvelope = z.object({
  envelopeVersion: z.literal(KAFKA_ENVELOPE_VERSION),
  eventId: z.uuid(),
  type: z.string().min(1),
  schemaVersion: z.number().int().positive(),
  streamId: z.string().min(1),
  // The event's version within its customer's stream (1, 2, …).
  streamVersion: z.number().int().positive(),
  // Global position in the ledger's log, a decimal string (a bigint does not survive JSON).
  position: z.string().regex(/^[1-9][0-9]*$/),
  recordedAt: z.iso.datetime({ offset: true }),
  metadata: EventMetadata,
  data: z.unknown(),
});
export type KafkaEnvelope = z.infer<typeof KafkaEnvelope>;

// Header names. Headers repeat what a router or tracer needs without parsing the value;
// `traceparent` is the W3C name, so tracing libraries find it without configuration.
export const KAFKA_HEADERS = {
  eventId: 'ledger-event-id',
  type: 'ledger-event-type',
  schemaVersion: 'ledger-schema-version',
  envelopeVersion: 'ledger-envelope-version',
  correlationId: 'ledger-correlation-id',
  traceparent: 'traceparent',
  contentType: 'content-type',
} as const;
