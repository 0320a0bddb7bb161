import { z } from 'zod';

export const CustomerId = z.string().regex(/^cust_[0-9A-Za-z]+$/);

// What POST /v1/leads and POST /v1/app-events answer once the events are durable. It holds
// nothing that differs between a first run and a replay, so a retried request (even one whose
// Idempotency-Key record has expired) gets the same body back.
export const CommandAccepted = z.object({
  customerId: CustomerId,
  eventIds: z.array(z.string()).meta({ description: 'The events this request appended' }),
  version: z.number().int().positive().meta({ description: "The customer stream's version after them" }),
  customer: z.string().meta({ description: 'Where to read the customer: /v1/customers/{customerId}' }),
});
export type CommandAccepted = z.infer<typeof CommandAccepted>;
