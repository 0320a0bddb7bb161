import { z } from 'zod';

// One line of a `ledger webhooks replay` file: a delivery as captured (the inbox keeps exactly
// these three), or, on a line without `body`, the provider's body itself.
export const CAPTURED_SOURCES = ['stripe', 'crm', 'support'] as const;
export type CapturedSource = (typeof CAPTURED_SOURCES)[number];

export const CapturedDelivery = z.object({
  source: z.enum(CAPTURED_SOURCES).optional(),
  // The exact bytes as a string, or the JSON body (sent as JSON.stringify writes it).
  body: z.union([z.string(), z.array(z.unknown()), z.record(z.string(), z.unknown())]),
  headers: z.record(z.string(), z.string()).optional(),
});
export type CapturedDelivery = z.infer<typeof CapturedDelivery>;
