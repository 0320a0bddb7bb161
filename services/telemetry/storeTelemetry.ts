import { SpanKind } from '@opentelemetry/api';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_STORED_PROCEDURE_NAME,
  ATTR_DB_SYSTEM_NAME,
  DB_SYSTEM_NAME_VALUE_POSTGRESQL,
} from '@opentelemetry/semantic-conventions';
import type { NewEvent } from '../../contracts/eventMetadata.ts';
import { ConcurrencyError } from '../../domain/errors.ts';
import type { AppendResult } from '../eventstore/port.ts';
import { instruments } from './instruments.ts';
import { ATTR_CORRELATION_ID, ATTR_EVENT_COUNT, ATTR_EVENT_TYPE } from './semconv.ts';
import { contextOfTraceparent, recordFailure, tracer } from './tracer.ts';

// The append's span (DB semantic conventions: the statement's shape, never its parameters, which
// hold the events) and its latency; what was appended, by type; manual overrides.

const DB_ATTRIBUTES = {
  [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_VALUE_POSTGRESQL,
  [ATTR_DB_OPERATION_NAME]: 'SELECT',
  [ATTR_DB_STORED_PROCEDURE_NAME]: 'ledger_append',
  [ATTR_DB_COLLECTION_NAME]: 'ledger_events',
};

const OUTCOME = {
  appended: { outcome: 'appended' },
  duplicate: { outcome: 'duplicate' },
  conflict: { outcome: 'conflict' },
  error: { outcome: 'error' },
} as const;

export async function observeAppend(events: readonly NewEvent[], append: () => Promise<AppendResult>): Promise<AppendResult> {
  const first = events[0];
  // A child of the span the events name as their origin (the fact being recorded).
  const span = tracer.startSpan(
    'SELECT ledger_append',
    {
      kind: SpanKind.CLIENT,
      attributes: {
        ...DB_ATTRIBUTES,
        [ATTR_EVENT_COUNT]: events.length,
        ...(first ? { [ATTR_CORRELATION_ID]: first.metadata.correlationId, [ATTR_EVENT_TYPE]: first.type } : {}),
      },
    },
    contextOfTraceparent(first?.metadata.traceparent),
  );
  const started = performance.now();
  let outcome: keyof typeof OUTCOME = 'error';
  try {
    const result = await append();
    outcome = result.duplicate ? 'duplicate' : 'appended';
    if (!result.duplicate) countAppended(events);
    return result;
  } catch (error) {
    if (error instanceof ConcurrencyError) outcome = 'conflict';
    recordFailure(span, error);
    throw error;
  } finally {
    instruments().appendDuration.record((performance.now() - started) / 1000, OUTCOME[outcome]);
    span.setAttribute('ledger.append.outcome', outcome);
    span.end();
  }
}

// The fallback catches every error of the group statement, so a fault there would otherwise
// show only as lost speed.
export function countAppendGrouping(outcome: 'grouped' | 'fallback', appends: number): void {
  instruments().appendGrouping.add(appends, { outcome });
}

function countAppended(events: readonly NewEvent[]): void {
  const { eventsAppended, manualOverrides } = instruments();
  for (const event of events) {
    eventsAppended.add(1, { event_type: event.type });
    if (event.type === 'ManualOverrideApplied') manualOverrides.add(1, overrideLabels(event.data));
  }
}

const field = (value: unknown, key: string): unknown => (typeof value === 'object' && value !== null ? Reflect.get(value, key) : undefined);

function overrideLabels(data: unknown): { action: string; role: string } {
  const action = field(data, 'action');
  const role = field(field(data, 'actor'), 'role');
  return { action: typeof action === 'string' ? action : 'unknown', role: typeof role === 'string' ? role : 'unknown' };
}
