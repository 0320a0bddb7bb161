import { ROOT_CONTEXT, SpanKind, trace, type Link, type Span, type SpanContext } from '@opentelemetry/api';
import type { RecordedEvent } from '../../contracts/eventMetadata.ts';
import type { SqlExecutor } from '../eventstore/sqlClient.ts';
import { loadRows, type ReadModelRow } from '../projector/readModelRows.ts';
import { instruments } from './instruments.ts';
import {
  ATTR_APPLIED,
  ATTR_CORRELATION_ID,
  ATTR_CORRELATION_IDS,
  ATTR_EVENT_ID,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  ATTR_PARKED,
  ATTR_POSITION_FROM,
  ATTR_POSITION_TO,
  ATTR_READ_MODEL,
} from './semconv.ts';
import { isTicketEventType, recordTicketOutcomes, segmentOf, type TicketOutcome } from './ticketSegments.ts';
import { recordFailure, remoteSpanContext, tracer } from './tracer.ts';

// One span per read-model batch. The events carry the traceparent of the delivery that recorded
// them: a batch serving one trace continues it (the span is a child of the fact's span, so the
// payment's trace shows its CRM, support and app updates); a batch serving several traces starts
// its own and links each of them. After the commit: sync latency per event, batch counts, and
// support routing outcomes by segment.

// OpenTelemetry's default span link limit; beyond it links are dropped anyway.
const MAX_LINKS = 128;

// What a batch did, before it commits: the rows it will write and the events it parks.
export interface ProjectedBatch {
  tx: SqlExecutor;
  table: string;
  events: readonly RecordedEvent[];
  touched: ReadonlyMap<string, { row: ReadModelRow }>;
  parked: readonly { event: RecordedEvent }[];
}

export interface BatchObserver {
  started(events: readonly RecordedEvent[]): void;
  projected(batch: ProjectedBatch): Promise<void>;
  committed(result: { applied: number; parked: number; position: bigint }): void;
  failed(error: unknown): void;
}

const NOOP: BatchObserver = { started() {}, projected: async () => {}, committed() {}, failed() {} };

// `live` is false for a rebuild: replaying history into new tables is not a sync, and its
// "latency" would be the age of every event.
export function observeBatch(readModel: string, live: boolean): BatchObserver {
  if (!live) return NOOP;
  const startTime = Date.now();
  let applied: readonly RecordedEvent[] = [];
  let tickets: TicketOutcome[] = [];
  let span: Span | undefined;
  const batches = { committed: { read_model: readModel, outcome: 'committed' }, failed: { read_model: readModel, outcome: 'failed' } };

  return {
    started(events) {
      span = startBatchSpan(readModel, events, startTime);
    },
    async projected(batch) {
      const parkedIds = new Set(batch.parked.map((p) => p.event.eventId));
      applied = batch.events.filter((e) => !parkedIds.has(e.eventId));
      for (const { event } of batch.parked) {
        span?.addEvent('parked', { [ATTR_EVENT_ID]: event.eventId, [ATTR_CORRELATION_ID]: event.metadata.correlationId });
      }
      if (readModel === 'support') tickets = await ticketOutcomes(batch, parkedIds);
    },
    committed(result) {
      if (!span) return;
      const now = Date.now();
      const { syncLatency, projectionBatches } = instruments();
      const bySource = new Map<string, { read_model: string; source: string }>();
      for (const event of applied) {
        const source = event.metadata.source;
        let attributes = bySource.get(source);
        if (!attributes) bySource.set(source, (attributes = { read_model: readModel, source }));
        syncLatency.record(Math.max(0, now - Date.parse(event.recordedAt)) / 1000, attributes);
      }
      projectionBatches.add(1, batches.committed);
      recordTicketOutcomes(tickets);
      span.setAttributes({ [ATTR_APPLIED]: result.applied, [ATTR_PARKED]: result.parked, [ATTR_POSITION_TO]: result.position.toString() });
      span.end();
    },
    failed(error) {
      instruments().projectionBatches.add(1, batches.failed);
      if (!span) return;
      recordFailure(span, error);
      span.end();
    },
  };
}

// In event order: a ticket event applied is `routed` in the segment the customer ends the batch
// in; a parked event is `failed` in the segment the customer had (its stored row, when the batch
// did not touch it: read only when something parked, which is rare).
async function ticketOutcomes(batch: ProjectedBatch, parkedIds: ReadonlySet<string>): Promise<TicketOutcome[]> {
  const untouched = [...new Set(batch.parked.map((p) => p.event.metadata.customerId))].filter((id) => !batch.touched.has(id));
  const stored = untouched.length > 0 ? await loadRows(batch.tx, batch.table, untouched) : new Map<string, ReadModelRow>();
  const docOf = (customerId: string): unknown => (batch.touched.get(customerId)?.row ?? stored.get(customerId))?.doc;
  const outcomes: TicketOutcome[] = [];
  for (const event of batch.events) {
    if (parkedIds.has(event.eventId)) outcomes.push({ segment: segmentOf(docOf(event.metadata.customerId)), outcome: 'failed' });
    else if (isTicketEventType(event.type)) outcomes.push({ segment: segmentOf(docOf(event.metadata.customerId)), outcome: 'routed' });
  }
  return outcomes;
}

function startBatchSpan(readModel: string, events: readonly RecordedEvent[], startTime: number): Span {
  const contexts = new Map<string, { context: SpanContext; correlationId: string }>();
  const correlationIds = new Set<string>();
  for (const event of events) {
    correlationIds.add(event.metadata.correlationId);
    const traceparent = event.metadata.traceparent;
    if (traceparent === undefined || contexts.has(traceparent) || contexts.size >= MAX_LINKS) continue;
    const context = remoteSpanContext(traceparent);
    if (context) contexts.set(traceparent, { context, correlationId: event.metadata.correlationId });
  }
  const distinct = [...contexts.values()];
  const first = distinct[0];
  const oneTrace = first !== undefined && distinct.every((c) => c.context.traceId === first.context.traceId);
  // One trace: continue it from the first fact's span, link the trace's other facts.
  const parent = oneTrace ? trace.setSpanContext(ROOT_CONTEXT, first.context) : ROOT_CONTEXT;
  const links: Link[] = (oneTrace ? distinct.slice(1) : distinct).map(({ context, correlationId }) => ({
    context,
    attributes: { [ATTR_CORRELATION_ID]: correlationId },
  }));
  const ids = [...correlationIds];
  return tracer.startSpan(
    `project ${readModel}`,
    {
      kind: SpanKind.CONSUMER,
      startTime,
      links,
      attributes: {
        [ATTR_MESSAGING_SYSTEM]: 'ledger',
        [ATTR_MESSAGING_OPERATION_TYPE]: 'process',
        [ATTR_MESSAGING_OPERATION_NAME]: 'project',
        [ATTR_MESSAGING_DESTINATION_NAME]: 'ledger_events',
        [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: readModel,
        [ATTR_MESSAGING_BATCH_MESSAGE_COUNT]: events.length,
        [ATTR_READ_MODEL]: readModel,
        [ATTR_POSITION_FROM]: events[0]?.position.toString() ?? '',
        ...(ids.length === 1
          ? { [ATTR_CORRELATION_ID]: ids[0] }
          : { [ATTR_CORRELATION_IDS]: ids.slice(0, MAX_LINKS) }),
      },
    },
    parent,
  );
}
