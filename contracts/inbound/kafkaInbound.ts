import { z } from 'zod';
import { AppEventRequest, LeadRequest } from './app.ts';

// A message on the optional inbound topic (KAFKA_INBOUND_TOPIC): an internal producer's app
// event, carrying the same bodies as POST /v1/leads and POST /v1/app-events. `producer` plus
// `id` is the de-duplication key (as an Idempotency-Key is over HTTP): publishing the same
// message twice records it once. Headers `ledger-correlation-id` and `traceparent` are honoured.
const MessageId = z.string().regex(/^[\x21-\x7E]{1,255}$/, { error: 'must be 1-255 visible ASCII characters' });
const Producer = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, { error: 'must be a lower-case service name' });

export const KafkaInboundMessage = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('lead'), producer: Producer, id: MessageId, lead: LeadRequest }),
  z.strictObject({ kind: z.literal('app_event'), producer: Producer, id: MessageId, event: AppEventRequest }),
]);
export type KafkaInboundMessage = z.infer<typeof KafkaInboundMessage>;
