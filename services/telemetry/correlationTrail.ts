import { isDomainEventType, parseDomainEvent, type DomainEvent } from '../../contracts/domainEvents.ts';
import { isReviewWithdrawn, redatedText, REVIEW_WITHDRAWN } from '../../contracts/events/decisions.ts';
import { DECISION_TYPES } from '../../contracts/events/vocabulary.ts';
import type { SqlExecutor } from '../eventstore/sqlClient.ts';
import { parseTraceparent } from '../http/traceContext.ts';
import { shownClaims } from '../ingest/waitingClaims.ts';
import { READ_MODEL_NAMES } from '../projector/projectorSchema.ts';
import { EVENT_CORRELATION_ID } from './correlationSchema.ts';

// Everything that carries one correlation id, in time order: the inbox delivery, the facts and
// decisions appended, each read model's change-feed entry for them, and where each read model
// (and the Kafka relay) stands. Ids, types and times only: never a payload.

export type TrailEntry =
  // matchedAt: a waiting delivery processed later (the service's retry or `ledger redeliver`),
  // once its customer was known; waitingFor: until then, the claims it waits for (e-mail
  // addresses left out: no payload).
  | {
      kind: 'delivery';
      at: string;
      inboxId: string;
      source: string;
      outcome: string;
      sourceEventIds: string[];
      matchedAt: string | null;
      waitingFor: string[];
    }
  | {
      kind: 'fact' | 'decision';
      at: string;
      position: string;
      eventId: string;
      customerId: string;
      version: number;
      type: string;
      source: string;
      sourceEventId: string | null;
      detail: string | null;
      traceId: string | null;
    }
  | { kind: 'projection'; at: string; readModel: string; customerId: string; position: string }
  | { kind: 'parked'; at: string; readModel: string; customerId: string; position: string; reason: string; status: string; error: string | null };

// Whether a read model (or the relay) has passed the chain's last event, and how many of the
// chain's events it parked on the way (passed is not applied: a parked event was skipped over).
export interface TrailConsumer {
  name: string;
  kind: 'read_model' | 'relay';
  position: string;
  caughtUp: boolean;
  parked: number;
}

export interface CorrelationTrail {
  correlationId: string;
  traceIds: string[];
  entries: TrailEntry[];
  consumers: TrailConsumer[];
}

const DECISIONS: ReadonlySet<string> = new Set(DECISION_TYPES);
const MAX_EVENTS = 1_000;
const iso = (value: Date | string): string => new Date(value).toISOString();

// By index, whatever the log's size (test/int/keyColumns.int.test.ts asks the planner).
export const TRAIL_DELIVERIES_SQL = `select id::text as id, source, received_at, outcome, source_event_ids, headers->>'traceparent' as traceparent, matched_at, waiting_for
       from ledger_inbox where correlation_id = $1 order by ledger_inbox.id`;
export const TRAIL_EVENTS_SQL = `select position::text as position, event_id::text as event_id, stream_id, version::text as version, type, schema_version, data, metadata, recorded_at
       from ledger_events where ${EVENT_CORRELATION_ID} = $1 order by ledger_events.position limit $2::int`;

export async function correlationTrail(sql: SqlExecutor, correlationId: string): Promise<CorrelationTrail> {
  const deliveries = await sql.query<{
    id: string;
    source: string;
    received_at: Date | string;
    outcome: string;
    source_event_ids: string[];
    traceparent: string | null;
    matched_at: Date | string | null;
    waiting_for: string[] | null;
  }>(
    TRAIL_DELIVERIES_SQL,
    [correlationId],
  );
  const events = await sql.query<{
    position: string;
    event_id: string;
    stream_id: string;
    version: string;
    type: string;
    schema_version: number;
    data: unknown;
    metadata: { customerId: string; source: string; sourceEventId?: string; traceparent?: string };
    recorded_at: Date | string;
  }>(
    TRAIL_EVENTS_SQL,
    [correlationId, MAX_EVENTS],
  );
  const positions = events.rows.map((e) => e.position);
  const entries: TrailEntry[] = deliveries.rows.map((d) => ({
    kind: 'delivery',
    at: iso(d.received_at),
    inboxId: d.id,
    source: d.source,
    outcome: d.outcome,
    sourceEventIds: d.source_event_ids,
    matchedAt: d.matched_at === null ? null : iso(d.matched_at),
    waitingFor: d.matched_at === null ? shownClaims(d.waiting_for ?? []) : [],
  }));
  for (const e of events.rows) {
    entries.push({
      kind: DECISIONS.has(e.type) ? 'decision' : 'fact',
      at: iso(e.recorded_at),
      position: e.position,
      eventId: e.event_id,
      customerId: e.metadata.customerId,
      version: Number(e.version),
      type: e.type,
      source: e.metadata.source,
      sourceEventId: e.metadata.sourceEventId ?? null,
      detail: detailOf(e.type, e.schema_version, e.data),
      traceId: parseTraceparent(e.metadata.traceparent)?.traceId ?? null,
    });
  }
  const consumers: TrailConsumer[] = [];
  if (positions.length > 0) {
    for (const readModel of READ_MODEL_NAMES) {
      const { rows } = await sql.query<{ customer_id: string; position: string; changed_at: Date | string }>(
        `select customer_id, position::text as position, changed_at from read_${readModel}_changes
          where position = any($1::bigint[]) order by cursor`,
        [positions],
      );
      for (const r of rows) entries.push({ kind: 'projection', at: iso(r.changed_at), readModel, customerId: r.customer_id, position: r.position });
    }
    const parked = await sql.query<{ projection: string; customer_id: string; position: string; reason: string; status: string; error: string | null; parked_at: Date | string }>(
      `select projection, customer_id, position::text as position, reason, status, error, parked_at
         from ledger_parked_events where position = any($1::bigint[]) order by id`,
      [positions],
    );
    for (const p of parked.rows) {
      entries.push({ kind: 'parked', at: iso(p.parked_at), readModel: p.projection, customerId: p.customer_id, position: p.position, reason: p.reason, status: p.status, error: p.error });
    }
    const stillParked = (name: string) => parked.rows.filter((p) => p.projection === name && p.status === 'parked').length;
    consumers.push(...(await consumersOf(sql, BigInt(positions.at(-1)!), stillParked)));
  }
  const traceIds = new Set<string>();
  for (const d of deliveries.rows) {
    const inbound = parseTraceparent(d.traceparent)?.traceId;
    if (inbound) traceIds.add(inbound);
  }
  for (const entry of entries) if ((entry.kind === 'fact' || entry.kind === 'decision') && entry.traceId) traceIds.add(entry.traceId);
  // Stable: same-instant entries keep the chain's order (delivery, events, projections).
  const rank = { delivery: 0, fact: 1, decision: 1, projection: 2, parked: 2 } as const;
  entries.sort((a, b) => a.at.localeCompare(b.at) || rank[a.kind] - rank[b.kind]);
  return { correlationId, traceIds: [...traceIds], entries, consumers };
}

async function consumersOf(sql: SqlExecutor, last: bigint, parkedOf: (readModel: string) => number): Promise<TrailConsumer[]> {
  const checkpoints = await sql.query<{ name: string; position: string }>(
    `select name, position::text as position from ledger_projection_checkpoints where name = any($1::text[]) order by name`,
    [READ_MODEL_NAMES],
  );
  const consumers: TrailConsumer[] = checkpoints.rows.map((c) => ({
    name: c.name,
    kind: 'read_model',
    position: c.position,
    caughtUp: BigInt(c.position) >= last,
    parked: parkedOf(c.name),
  }));
  // The relay's table exists once its migration ran (Kafka is optional).
  const relay = await sql.query<{ present: boolean }>(`select to_regclass('ledger_relay_checkpoints') is not null as present`);
  if (relay.rows[0]?.present) {
    const topics = await sql.query<{ topic: string; position: string }>('select topic, position::text as position from ledger_relay_checkpoints order by topic');
    consumers.push(...topics.rows.map((t): TrailConsumer => ({ name: t.topic, kind: 'relay', position: t.position, caughtUp: BigInt(t.position) >= last, parked: 0 })));
  }
  return consumers;
}

// A decision's meaning in a few words; facts are named by type and source event id alone.
function detailOf(type: string, schemaVersion: number, data: unknown): string | null {
  if (!DECISIONS.has(type) || !isDomainEventType(type)) return null;
  let event: DomainEvent;
  try {
    event = parseDomainEvent(type, schemaVersion, data);
  } catch {
    return null;
  }
  switch (event.type) {
    case 'LifecycleChanged':
      return `${event.data.from} -> ${event.data.to}${isReviewWithdrawn(event.data) ? ` (${REVIEW_WITHDRAWN})` : ''}`;
    case 'FlaggedForReview':
      return `${event.data.from} -> needs_review (${event.data.reason})`;
    case 'ManualOverrideApplied':
      return `${event.data.action}${event.data.to ? ` -> ${event.data.to}` : ''} by ${event.data.actor.role}`;
    case 'ReviewResolved':
      return `review resolved -> ${event.data.to}`;
    case 'LifecycleRedated':
      return redatedText(event.data);
    default:
      return null;
  }
}
