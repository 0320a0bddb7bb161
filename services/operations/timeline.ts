import { DECISION_TYPES, isFactEvent } from '../../contracts/domainEvents.ts';
import type { Actor, EventSource, RecordedEvent } from '../../contracts/eventMetadata.ts';
import type { IdentityKind, LifecycleState } from '../../contracts/events/vocabulary.ts';
import { evolve, initialState } from '../../domain/customerState.ts';
import { LedgerError } from '../../domain/errors.ts';
import { streamIdOf } from '../commands/customerIds.ts';
import type { EventStore } from '../eventstore/port.ts';
import { summarize } from './eventSummary.ts';
import { readRecorded } from './readableEvent.ts';

// A customer's stream as an engineer reads it: facts and the decisions they caused, in order,
// each with where it came from and the lifecycle state once it is folded in.

export interface TimelineEntry {
  version: number;
  position: string;
  eventId: string;
  type: string;
  schemaVersion: number;
  kind: 'fact' | 'decision';
  occurredAt: string;
  recordedAt: string;
  source: EventSource;
  sourceEventId: string | null;
  // The provider's type of that event (Stripe `invoice.paid`); null where none was recorded.
  sourceType: string | null;
  correlationId: string;
  causationId: string | null;
  actor: Actor | null;
  summary: string;
  lifecycleAfter: LifecycleState;
  // As stored, at its schemaVersion: the record, not today's reading of it.
  data: Record<string, unknown>;
}

export interface Timeline {
  customerId: string;
  version: number;
  lifecycle: LifecycleState;
  identities: { kind: IdentityKind; externalId: string }[];
  entries: TimelineEntry[];
}

export function timelineOf(customerId: string, events: readonly RecordedEvent[]): Timeline {
  let state = initialState;
  const entries = events.map((recorded): TimelineEntry => {
    const reading = readRecorded(recorded);
    // An event this build cannot read is shown (it may be the incident) and folds as nothing.
    if (reading.readable) state = evolve(state, reading.event);
    const { metadata } = recorded;
    const decision = reading.readable ? !isFactEvent(reading.event) : (DECISION_TYPES as readonly string[]).includes(recorded.type);
    return {
      version: recorded.version,
      position: recorded.position.toString(),
      eventId: recorded.eventId,
      type: recorded.type,
      schemaVersion: recorded.schemaVersion,
      kind: decision ? 'decision' : 'fact',
      occurredAt: metadata.occurredAt,
      recordedAt: recorded.recordedAt,
      source: metadata.source,
      sourceEventId: metadata.sourceEventId ?? null,
      sourceType: metadata.sourceType ?? null,
      correlationId: metadata.correlationId,
      causationId: metadata.causationId ?? null,
      actor: metadata.actor ?? null,
      summary: reading.readable ? summarize(reading.event) : `unreadable: ${reading.problem}`,
      lifecycleAfter: state.lifecycle,
      data: isRecord(recorded.data) ? recorded.data : {},
    };
  });
  const last = events.at(-1);
  if (last === undefined) throw new LedgerError('LEDGER_NOT_FOUND', 'No customer matches this reference');
  return { customerId, version: last.version, lifecycle: state.lifecycle, identities: state.identities, entries };
}

export async function loadTimeline(store: EventStore, customerId: string): Promise<Timeline> {
  return timelineOf(customerId, await store.readStream(streamIdOf(customerId)));
}

// The stored events behind a timeline (a remote CLI replays what the admin API served).
export function recordedEventsOf(timeline: Timeline): RecordedEvent[] {
  return timeline.entries.map((entry) => ({
    eventId: entry.eventId,
    streamId: streamIdOf(timeline.customerId),
    version: entry.version,
    position: BigInt(entry.position),
    type: entry.type,
    schemaVersion: entry.schemaVersion,
    data: entry.data,
    recordedAt: entry.recordedAt,
    metadata: {
      customerId: timeline.customerId,
      occurredAt: entry.occurredAt,
      source: entry.source,
      correlationId: entry.correlationId,
      ...(entry.sourceEventId === null ? {} : { sourceEventId: entry.sourceEventId }),
      ...(entry.sourceType === null ? {} : { sourceType: entry.sourceType }),
      ...(entry.causationId === null ? {} : { causationId: entry.causationId }),
      ...(entry.actor === null ? {} : { actor: entry.actor }),
    },
  }));
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
