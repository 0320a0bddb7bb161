import { z } from 'zod';
import { Actor, EventSource } from '../eventMetadata.ts';
import { IdentityKind, LifecycleState, OccurredAt } from '../events/common.ts';
import { ReviewReason } from '../events/decisions.ts';
import { OVERRIDE_ACTIONS } from '../events/vocabulary.ts';
import { CustomerId } from './commandAccepted.ts';

// The admin API (/admin/…) and the `ledger` incident commands share these: the CLI parses its
// flags with the same contracts the routes parse their query strings with.

const reason = z.string().trim().min(1, { error: 'a reason is required' }).max(1000);
const digits = z.string().regex(/^\d{1,19}$/, { error: 'must be a number' });

// --- requests ------------------------------------------------------------------------------

export const AdminOverrideRequest = z.strictObject({
  action: z.enum(OVERRIDE_ACTIONS).meta({ description: 'set_state: admin only; resolve_review: support or admin' }),
  to: LifecycleState.optional().meta({ description: 'Required for set_state; resolve_review defaults to the state flagged from' }),
  reason,
});
export type AdminOverrideRequest = z.infer<typeof AdminOverrideRequest>;

export const AdminIdentityRequest = z.strictObject({
  action: z.enum(['link', 'unlink']),
  kind: IdentityKind,
  externalId: z.string().trim().min(1).max(512),
  reason,
});
export type AdminIdentityRequest = z.infer<typeof AdminIdentityRequest>;

export const ParkedRetryRequest = z.union([
  z.strictObject({ ids: z.array(digits).min(1).max(1000) }),
  z.strictObject({ all: z.literal(true) }),
]);
export type ParkedRetryRequest = z.infer<typeof ParkedRetryRequest>;

export const ParkedSkipRequest = z.strictObject({ reason });

export const ParkedIdParams = z.object({ id: digits });
export const ProjectionParams = z.object({ name: z.enum(['crm', 'support', 'app']) });

// `at`: a stream version (digits) or an ISO 8601 time; absent: now.
export const PointInTime = z.union([
  z
    .string()
    .regex(/^\d{1,15}$/)
    .transform((v) => ({ kind: 'version' as const, version: Number(v) })),
  z.iso.datetime({ offset: true }).transform((at) => ({ kind: 'time' as const, at: new Date(at).toISOString() })),
]);
export type PointInTime = z.output<typeof PointInTime>;
export const StateQuery = z.object({
  at: z
    .string()
    .max(64)
    .pipe(PointInTime)
    .optional()
    .meta({ description: 'A stream version (e.g. 12) or an ISO 8601 time (e.g. 2026-03-01T12:00:00Z)' }),
});

export const CustomersQuery = z.object({
  since: OccurredAt.optional().meta({ description: 'Only customers with an event recorded at or after this time' }),
  after: CustomerId.optional().meta({ description: 'The last customer id of the previous page' }),
  limit: z.coerce.number().int().min(1).max(1000).default(500),
});

export const ParkedQuery = z.object({
  projection: z.string().max(64).optional(),
  status: z.enum(['parked', 'retried', 'skipped']).default('parked'),
});

export const AuditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: digits.optional().meta({ description: 'The smallest id of the previous page: older entries' }),
  target: z.string().max(512).optional(),
});

// --- responses (documented; the server writes them) ----------------------------------------

export const TimelineEntry = z.object({
  version: z.number().int().positive(),
  position: z.string(),
  eventId: z.string(),
  type: z.string(),
  schemaVersion: z.number().int(),
  kind: z.enum(['fact', 'decision']),
  occurredAt: z.string(),
  recordedAt: z.string(),
  source: EventSource,
  sourceEventId: z.string().nullable(),
  sourceType: z.string().nullable().meta({ description: "The provider's type of the source event (Stripe `invoice.paid`), where recorded" }),
  correlationId: z.string(),
  causationId: z.string().nullable(),
  actor: Actor.nullable(),
  summary: z.string().meta({ description: 'One line for a terminal' }),
  lifecycleAfter: LifecycleState.meta({ description: 'The lifecycle state once this event is folded in' }),
  data: z.record(z.string(), z.unknown()).meta({ description: 'The event data as stored (at its schemaVersion)' }),
});

export const Timeline = z.object({
  customerId: CustomerId,
  version: z.number().int().positive(),
  lifecycle: LifecycleState,
  identities: z.array(z.object({ kind: IdentityKind, externalId: z.string() })),
  entries: z.array(TimelineEntry),
});

export const StateAt = z.object({
  customerId: CustomerId,
  requested: z.string().nullable().meta({ description: 'The `at` asked for, normalised; null for now' }),
  asOf: z.object({ version: z.number().int().positive(), position: z.string(), recordedAt: z.string(), occurredAt: z.string() }),
  unreadable: z.array(z.number().int()).meta({ description: 'Versions this build cannot read (schema mismatch), left out of the fold' }),
  state: z.looseObject({ lifecycle: LifecycleState, since: z.string().nullable(), review: z.object({ reason: ReviewReason, from: LifecycleState, flaggedAt: z.string() }).nullable() }),
  views: z.object({
    crm: z.record(z.string(), z.unknown()).nullable(),
    support: z.record(z.string(), z.unknown()).nullable(),
    app: z.record(z.string(), z.unknown()).nullable(),
  }).meta({ description: 'The read models run over the same prefix of the stream' }),
});

export const CustomersPage = z.object({
  customerIds: z.array(CustomerId),
  next: CustomerId.nullable().meta({ description: 'Pass as `after` for the next page; null at the end' }),
});

export const AdminCommandAccepted = z.object({
  customerId: CustomerId,
  eventIds: z.array(z.string()),
  version: z.number().int().positive(),
  lifecycle: LifecycleState,
  events: z.array(z.string()).meta({ description: 'The types of the events appended, in order' }),
});

const ParkedEvent = z.object({
  id: z.string(),
  projection: z.string(),
  position: z.string(),
  eventId: z.string(),
  customerId: z.string(),
  reason: z.enum(['failed', 'held']),
  error: z.string().nullable(),
  attempts: z.number().int(),
  status: z.enum(['parked', 'retried', 'skipped']),
  parkedAt: z.string(),
});
export const ParkedList = z.object({ parked: z.array(ParkedEvent) });

export const ParkedActionResult = z.object({
  drained: z.array(z.object({ projection: z.string(), customerId: z.string(), applied: z.number().int(), stillParked: z.number().int() })),
});

const PartitionLag = z.object({
  partition: z.number().int(),
  highOffset: z.string(),
  appliedOffset: z.string().meta({ description: 'Next offset to apply: the greater of the committed offset and the read models\' own progress row' }),
  lagMessages: z.number().int(),
  lagSeconds: z.number().meta({ description: 'Age of the oldest event waiting in this partition' }),
});

export const ProjectionsStatus = z.object({
  source: z.enum(['store', 'kafka']).meta({ description: 'Where projectors read: the store log (checkpoints) or Kafka (PROJECTOR_SOURCE=kafka, the consumer group)' }),
  projections: z.array(
    z.object({
      name: z.string(),
      position: z.string(),
      headPosition: z.string(),
      lagEvents: z.number().int(),
      lagSeconds: z.number(),
      parked: z.number().int(),
    }),
  ),
  fenceHeldEvents: z.number().int().meta({ description: 'Committed events waiting behind an older open transaction' }),
  kafka: z
    .object({
      topic: z.string(),
      groupId: z.string(),
      relayPosition: z.string().meta({ description: 'Last event the broker acknowledged' }),
      relayBacklog: z.number().int().meta({ description: 'Events not yet produced by `ledger relay`' }),
      relayLagSeconds: z.number(),
      partitions: z.array(PartitionLag),
    })
    .optional()
    .meta({ description: 'Kafka mode only: where the lag sits' }),
});

export const RebuildResult = z.object({
  readModel: z.string(),
  events: z.number().int(),
  parked: z.number().int().meta({ description: 'Events the rebuild parked: the live parked list after the swap' }),
  seconds: z.number(),
  position: z.string(),
});

export const AuditEntry = z.object({
  id: z.string(),
  at: z.string(),
  principal: z.string().nullable().meta({ description: 'apikey:<fingerprint> for the API, cli:<user> for direct CLI use; null when no key was recognised' }),
  role: z.string().nullable(),
  method: z.string(),
  route: z.string(),
  target: z.string().nullable(),
  reason: z.string().nullable(),
  status: z.number().int(),
  correlationId: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()).nullable(),
});
export const AuditPage = z.object({ entries: z.array(AuditEntry), next: z.string().nullable() });
