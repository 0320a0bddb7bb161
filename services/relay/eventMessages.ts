import type { Message } from 'kafkajs';
import type { RecordedEvent } from '../../contracts/eventMetadata.ts';
import { KAFKA_ENVELOPE_VERSION, KAFKA_HEADERS, KafkaEnvelope } from '../../contracts/kafkaEnvelope.ts';
import { parseJsonBody } from '../../contracts/parseBody.ts';

// A recorded event as a Kafka message: key = customer id (per-customer order), value = the
// versioned envelope, headers = what routers and tracers read without parsing the value.
export function toKafkaMessage(event: RecordedEvent): Message {
  const envelope: KafkaEnvelope = {
    envelopeVersion: KAFKA_ENVELOPE_VERSION,
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    streamId: event.streamId,
    streamVersion: event.version,
    position: event.position.toString(),
    recordedAt: event.recordedAt,
    metadata: event.metadata,
    data: event.data,
  };
  return {
    key: event.metadata.customerId,
    value: JSON.stringify(envelope),
    headers: {
      [KAFKA_HEADERS.eventId]: event.eventId,
      [KAFKA_HEADERS.type]: event.type,
      [KAFKA_HEADERS.schemaVersion]: String(event.schemaVersion),
      [KAFKA_HEADERS.envelopeVersion]: String(KAFKA_ENVELOPE_VERSION),
      [KAFKA_HEADERS.correlationId]: event.metadata.correlationId,
      [KAFKA_HEADERS.contentType]: 'application/json',
      ...(event.metadata.traceparent ? { [KAFKA_HEADERS.traceparent]: event.metadata.traceparent } : {}),
    },
  };
}

// The envelope back to the recorded event it was made from; throws LEDGER_VALIDATION (or
// LEDGER_MALFORMED_JSON) for a message that is not one of ours.
export function fromKafkaMessage(value: Buffer | null): RecordedEvent {
  const envelope = parseJsonBody(KafkaEnvelope, value ?? '');
  return {
    eventId: envelope.eventId,
    type: envelope.type,
    schemaVersion: envelope.schemaVersion,
    streamId: envelope.streamId,
    version: envelope.streamVersion,
    position: BigInt(envelope.position),
    recordedAt: envelope.recordedAt,
    metadata: envelope.metadata,
    data: envelope.data,
  };
}
