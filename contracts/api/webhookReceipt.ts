import { z } from 'zod';

// The 200 a webhook delivery gets once its facts are durable (services/ingest/ingestDelivery.ts).
export const WebhookReceipt = z.object({
  received: z.literal(true),
  correlationId: z.string(),
  inboxId: z.string(),
  facts: z.array(
    z.object({
      sourceEventId: z.string(),
      outcome: z.enum(['appended', 'duplicate', 'unmatched']),
      customerId: z.string().optional(),
      eventIds: z.array(z.string()).optional(),
    }),
  ),
  ignored: z.array(z.object({ sourceEventId: z.string(), reason: z.string() })),
});
export type WebhookReceipt = z.infer<typeof WebhookReceipt>;
