import { z } from 'zod';
import { OccurredAt } from '../events/common.ts';

// A Zendesk webhook delivery: one event (`zen:event-type:<domain>.<change>`) with `detail`, a
// snapshot of the ticket or user after the change, and `event`, what changed. Only the fields
// we read are named; ticket and user details share one loose object, as every field is optional
// in one domain or the other. Zendesk sends ids as strings in event webhooks and as numbers in
// trigger-built bodies: both are accepted and kept as strings.

const ZendeskId = z.union([z.string().min(1), z.number().int().nonnegative()]).transform(String);

const ZendeskDetail = z.object({
  id: ZendeskId.nullish(),
  // Tickets.
  requester_id: ZendeskId.nullish(),
  // Not in Zendesk's own event schema: a trigger-built body (`{{ticket.requester.email}}`) or
  // an enriching proxy may add it, and then the ticket finds a customer known by e-mail.
  requester_email: z.string().nullish(),
  status: z.string().nullish(),
  priority: z.string().nullish(),
  subject: z.string().nullish(),
  tags: z.array(z.string()).nullish(),
  group_id: ZendeskId.nullish(),
  assignee_id: ZendeskId.nullish(),
  via: z.object({ channel: z.string().nullish() }).nullish(),
  created_at: OccurredAt.nullish(),
  updated_at: OccurredAt.nullish(),
  // Users: the primary e-mail (after the change) and the role (end-user, agent, admin).
  email: z.string().nullish(),
  role: z.string().nullish(),
});

export const ZendeskEvent = z
  .object({
    type: z.string().min(1),
    // The event's id: the de-duplication key (Zendesk retries with the same id).
    id: z.string().min(1),
    account_id: z.number().int().optional(),
    // When the change happened. Zendesk does not deliver in order; facts are ordered on this.
    time: OccurredAt.optional(),
    zendesk_event_version: z.string().optional(),
    // `zen:ticket:35436`, `zen:user:6596848315901`.
    subject: z.string().optional(),
    detail: ZendeskDetail.default({}),
    // Shape varies by type: `{ current, previous }` with a value or an object.
    event: z.unknown().optional(),
  })
  .refine((e) => e.time !== undefined || e.detail.updated_at != null, {
    error: 'time (or detail.updated_at) is required',
    path: ['time'],
  });
export type ZendeskEvent = z.infer<typeof ZendeskEvent>;

// `event.current` of a status change is the new status (`"SOLVED"`); of ticket.created it is an
// object with the status (`{ "status": "Open" }`).
const CurrentStatus = z.object({
  current: z.union([z.string(), z.object({ status: z.string() }).transform((c) => c.status)]),
});

export function currentStatusOf(event: unknown): string | undefined {
  const parsed = CurrentStatus.safeParse(event);
  return parsed.success ? parsed.data.current : undefined;
}

// `event.current` of a user identity change names the identity's kind (email, phone_number,
// twitter, …). undefined when the event does not say.
const IdentityChange = z.object({ current: z.object({ type: z.string() }) });

export function changedIdentityKindOf(event: unknown): string | undefined {
  const parsed = IdentityChange.safeParse(event);
  return parsed.success ? parsed.data.current.type : undefined;
}
