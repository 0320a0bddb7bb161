import { z } from 'zod';
import { OccurredAt } from './common.ts';
import { TICKET_PRIORITIES, TICKET_STATUSES } from './vocabulary.ts';

// Support-desk facts. They never move the lifecycle; the support projection routes on them.

const TicketStatus = z.enum(TICKET_STATUSES);
const TicketPriority = z.enum(TICKET_PRIORITIES);
const ticketId = z.string().min(1);

export const TicketOpenedData = z.object({
  occurredAt: OccurredAt,
  ticketId,
  subject: z.string(),
  status: TicketStatus,
  priority: TicketPriority.optional(),
  // The channel the ticket came through (email, web, api, chat, …), as the desk names it.
  via: z.string().optional(),
  tags: z.array(z.string()).default([]),
  group: z.string().optional(),
});

// Only what changed is present.
export const TicketUpdatedData = z.object({
  occurredAt: OccurredAt,
  ticketId,
  subject: z.string().optional(),
  status: TicketStatus.optional(),
  priority: TicketPriority.optional(),
  tags: z.array(z.string()).optional(),
  group: z.string().optional(),
  assigneeId: z.string().optional(),
});

export const TicketClosedData = z.object({
  occurredAt: OccurredAt,
  ticketId,
  status: z.enum(['solved', 'closed']),
  // Closed by leaving the desk's queues rather than by an answer (deleted, marked as spam, merged
  // into another ticket). Absent in events recorded before it.
  removed: z.enum(['deleted', 'spam', 'merged']).optional(),
});
