import { z } from 'zod';
import { OccurredAt } from '../events/common.ts';

// What the app backend sends (POST /v1/leads, POST /v1/app-events). Objects are strict: our own
// client sends these, so an unknown key is a typo to report, not a field to drop silently.

// RFC 9110 visible characters (no spaces or controls), as Stripe and the IETF draft accept.
export const IdempotencyKey = z
  .string()
  .regex(/^[\x21-\x7E]{1,255}$/, { error: 'must be 1-255 visible ASCII characters' })
  .meta({ description: 'Unique per logical request (a UUID is ideal); replays return the first response' });

const Email = z.email().max(254);
const Name = z.string().trim().min(1).max(200);
const Phone = z.string().trim().min(3).max(40);
// The app's own user id: stable, never reused for another person.
export const AppUserId = z.string().trim().min(1).max(255);
// The app's time for the event; the server's clock when absent.
const When = OccurredAt.optional().meta({
  description: 'ISO 8601 with offset; defaults to the time the ledger received it, and a time after that (a device clock running ahead) is taken as it',
});

export const LeadRequest = z
  .strictObject({
    email: Email.optional(),
    firstName: Name.optional(),
    lastName: Name.optional(),
    phone: Phone.optional(),
    appUserId: AppUserId.optional(),
    channel: z.string().trim().min(1).max(100).optional().meta({ description: 'Where the lead came from, for attribution' }),
    occurredAt: When,
  })
  .superRefine((lead, ctx) => {
    // Without either there is nothing to find the person by later.
    if (lead.email === undefined && lead.appUserId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['appUserId'], message: 'email or appUserId is required' });
    }
  })
  .meta({
    description: 'A lead captured by the app. At least one of email and appUserId is required.',
    anyOf: [{ required: ['email'] }, { required: ['appUserId'] }],
  });
export type LeadRequest = z.infer<typeof LeadRequest>;

// Only what changed; `null` clears a field.
const ProfileChanges = z
  .strictObject({
    email: Email.nullable().optional(),
    firstName: Name.nullable().optional(),
    lastName: Name.nullable().optional(),
    phone: Phone.nullable().optional(),
  })
  .refine((p) => [p.email, p.firstName, p.lastName, p.phone].some((v) => v !== undefined), {
    error: 'at least one of email, firstName, lastName, phone is required',
  });

export const ProfileUpdatedEvent = z
  .strictObject({
    type: z.literal('profile_updated'),
    appUserId: AppUserId,
    occurredAt: When,
    profile: ProfileChanges,
  })
  .meta({ description: 'The user changed their profile in the app (recorded as CustomerProfileUpdated)' });

export const AccountDeletedEvent = z
  .strictObject({
    type: z.literal('account_deleted'),
    appUserId: AppUserId,
    occurredAt: When,
    reason: z.string().trim().min(1).max(500).optional(),
  })
  .meta({ description: 'The user deleted their app account (recorded as CustomerDeleted in `app`); the ledger keeps the history' });

export const AppEventRequest = z
  .discriminatedUnion('type', [ProfileUpdatedEvent, AccountDeletedEvent])
  .meta({ description: 'An event from the app backend about one of its users, told apart by `type`' });
export type AppEventRequest = z.infer<typeof AppEventRequest>;
