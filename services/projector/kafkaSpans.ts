import { ROOT_CONTEXT, SpanKind, trace, type Context, type Link, type Span, type SpanContext } from '@opentelemetry/api';
import type { RecordedEvent } from '../../contracts/eventMetadata.ts';
import {
  ATTR_CORRELATION_IDS,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
} from '../telemetry/semconv.ts';
import { inSpan, remoteSpanContext } from '../telemetry/tracer.ts';

// Span links and correlation ids a batch span names at most: a full batch may serve hundreds.
const MAX_LINKS = 32;

// One span per batch a Kafka projector applies. The traceparent each event carries (the
// ingest request's, stored in its metadata and sent as a Kafka header) joins the span to the
// producer's trace: as the parent when the whole batch comes from one trace, else as links.
export async function inKafkaBatchSpan<T>(
  batch: { topic: string; partition: number; groupId: string; events: RecordedEvent[] },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const contexts = new Map<string, SpanContext>();
  for (const event of batch.events) {
    const remote = remoteSpanContext(event.metadata.traceparent);
    if (remote && !contexts.has(remote.traceId)) contexts.set(remote.traceId, remote);
  }
  const correlationIds = [...new Set(batch.events.map((e) => e.metadata.correlationId))];
  const [only] = contexts.values();
  const parent: Context = contexts.size === 1 && only ? trace.setSpanContext(ROOT_CONTEXT, only) : ROOT_CONTEXT;
  const links: Link[] = contexts.size > 1 ? [...contexts.values()].slice(0, MAX_LINKS).map((spanContext) => ({ context: spanContext })) : [];
  return inSpan(
    `process ${batch.topic}`,
    {
      kind: SpanKind.CONSUMER,
      links,
      correlationId: correlationIds[0] ?? 'unknown',
      attributes: {
        [ATTR_MESSAGING_SYSTEM]: 'kafka',
        [ATTR_MESSAGING_OPERATION_TYPE]: 'process',
        [ATTR_MESSAGING_OPERATION_NAME]: 'process',
        [ATTR_MESSAGING_DESTINATION_NAME]: batch.topic,
        [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: batch.groupId,
        [ATTR_MESSAGING_BATCH_MESSAGE_COUNT]: batch.events.length,
        'messaging.destination.partition.id': String(batch.partition),
        [ATTR_CORRELATION_IDS]: correlationIds.slice(0, MAX_LINKS),
      },
    },
    work,
    parent,
  );
}
