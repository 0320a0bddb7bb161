import { z } from 'zod';

export const LiveResponse = z.object({ status: z.literal('live') });

export const ReadyResponse = z.object({
  status: z.literal('ready'),
  checks: z.array(z.object({ name: z.string(), ok: z.boolean() })),
});
