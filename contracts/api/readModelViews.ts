import { z } from 'zod';
import { LIFECYCLE_STATES } from '../events/vocabulary.ts';

// What the read-model APIs take and answer. Query strings arrive as text: coerce, then bound.

const version = z.coerce.number().int().min(0);

export const ReadModelQuery = z.object({
  // Long-poll: answer once the document's version reaches this (or at timeoutMs, unchanged).
  waitForVersion: version.optional(),
  timeoutMs: z.coerce.number().int().min(0).max(60_000).default(25_000),
});
export type ReadModelQuery = z.infer<typeof ReadModelQuery>;

export const ChangesQuery = z.object({
  // Empty is the start, as absent is: a worker's first call is often `after=${cursor ?? ''}`.
  after: z
    .string()
    .regex(/^\d{0,19}$/, { error: 'must be a cursor from an earlier page (digits)' })
    .default('0')
    .transform((cursor) => cursor || '0'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  // Long-poll an empty page for up to this long.
  timeoutMs: z.coerce.number().int().min(0).max(60_000).default(0),
});
export type ChangesQuery = z.infer<typeof ChangesQuery>;

const docMeta = {
  customerId: z.string(),
  version: z.number().int().min(1),
  lastCorrelationId: z.string().nullable(),
  updatedAtPosition: z.string(),
};

export const CrmContactView = z.object({ ...docMeta, stage: z.string(), lifecycle: z.enum(LIFECYCLE_STATES), tags: z.array(z.string()), owner: z.string().nullable() }).loose();
export const SupportProfileView = z.object({ ...docMeta, billingStatus: z.string(), vip: z.boolean(), tickets: z.array(z.object({ ticketId: z.string() }).loose()) }).loose();

export const AppEntitlementsResponse = z
  .object({
    ...docMeta,
    lifecycle: z.enum(LIFECYCLE_STATES),
    // Evaluated at read time: past_due access ends with its grace period.
    hasAccess: z.boolean(),
    access: z.enum(['full', 'grace', 'none']),
    graceEndsAt: z.string().nullable(),
    trialEndsAt: z.string().nullable(),
    plan: z.string().nullable(),
    priceId: z.string().nullable(),
    features: z.array(z.string()),
    statusCode: z.string(),
    statusMessage: z.string(),
  })
  .loose();
export type AppEntitlementsResponse = z.infer<typeof AppEntitlementsResponse>;

export const ChangesPage = z.object({
  changes: z.array(z.object({ cursor: z.string(), customerId: z.string(), position: z.string(), doc: z.record(z.string(), z.unknown()).nullable() })),
  // Pass as `after` for the next page; equal to the request's `after` when nothing is new.
  nextCursor: z.string(),
});
export type ChangesPage = z.infer<typeof ChangesPage>;
