import { z } from 'zod';

// POST /admin/redeliveries (and `ledger redeliver`): re-process kept inbox deliveries through
// today's translators. services/operations/redeliver.ts holds the rule that makes it safe.

export const REDELIVERABLE_SOURCES = ['stripe', 'crm', 'support'] as const;
export type RedeliverableSource = (typeof REDELIVERABLE_SOURCES)[number];

export const MAX_REDELIVERIES = 10_000;

export const RedeliveryRequest = z
  .object({
    inboxId: z.string().regex(/^[1-9]\d{0,17}$/, { error: 'must be an inbox id (digits)' }).optional(),
    since: z.iso.datetime({ offset: true }).optional(),
    // With `since`: continue after this inbox id (a truncated report's `next`).
    after: z.string().regex(/^[1-9]\d{0,17}$/, { error: 'must be an inbox id (digits)' }).optional(),
    source: z.enum(REDELIVERABLE_SOURCES).optional(),
    limit: z.number().int().min(1).max(MAX_REDELIVERIES).optional(),
  })
  .strict()
  // One delivery, or every delivery since a time: never the whole inbox by accident.
  .refine((r) => (r.inboxId === undefined) !== (r.since === undefined), { error: 'give exactly one of inboxId or since' })
  .refine((r) => r.after === undefined || r.since !== undefined, { error: 'after continues a since run: give since too', path: ['after'] });
export type RedeliveryRequest = z.infer<typeof RedeliveryRequest>;

const FactRedelivered = z.object({
  // The de-duplication key the fact is (now) recorded under.
  sourceEventId: z.string(),
  type: z.string(),
  outcome: z.enum(['appended', 'duplicate', 'unmatched']),
  customerId: z.string().optional(),
});

const DeliveryRedelivered = z.object({
  inboxId: z.string(),
  source: z.string(),
  receivedAt: z.string(),
  // What the delivery's first processing concluded (appended, ignored, unmatched, …).
  originalOutcome: z.string(),
  status: z.enum(['processed', 'failed']),
  facts: z.array(FactRedelivered),
  ignored: z.array(z.object({ sourceEventId: z.string(), reason: z.string() })),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type DeliveryRedelivered = z.infer<typeof DeliveryRedelivered>;

export const RedeliveryReport = z.object({
  deliveries: z.array(DeliveryRedelivered),
  totals: z.object({
    deliveries: z.number().int(),
    appended: z.number().int(),
    duplicate: z.number().int(),
    unmatched: z.number().int(),
    ignored: z.number().int(),
    failed: z.number().int(),
  }),
  // The filter matched more deliveries than the limit: the same request with `after: next`
  // continues where this one stopped.
  truncated: z.boolean(),
  next: z.string().optional(),
});
export type RedeliveryReport = z.infer<typeof RedeliveryReport>;
