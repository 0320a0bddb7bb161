import { z } from 'zod';
import { ExternalId, IdentityKind, OccurredAt } from './common.ts';

// Facts about the person rather than the money: leads, profile, CRM properties, identities.

const email = z.email();
const phone = z.string().min(3);

export const LeadCapturedData = z.object({
  occurredAt: OccurredAt,
  email: email.optional(),
  firstName: z.string().optional(),
  lastName: z.string().optional(),
  phone: phone.optional(),
  // Where the lead came from (app sign-up form, CRM form, campaign), for attribution.
  channel: z.string().optional(),
});

// v1 (2024) kept the name as one string; v2 splits it so the CRM can fill its two fields.
export const LeadCapturedDataV1 = z.object({
  occurredAt: OccurredAt,
  email: email.optional(),
  name: z.string().optional(),
  phone: phone.optional(),
  channel: z.string().optional(),
});

// Only what changed is present; `null` clears a field.
export const CustomerProfileUpdatedData = z
  .object({
    occurredAt: OccurredAt,
    email: email.nullable().optional(),
    firstName: z.string().nullable().optional(),
    lastName: z.string().nullable().optional(),
    phone: phone.nullable().optional(),
  })
  .refine(
    (profile) => [profile.email, profile.firstName, profile.lastName, profile.phone].some((value) => value !== undefined),
    { error: 'at least one of email, firstName, lastName, phone is required' },
  );

// CRM-owned properties (lifecycle stage, owner, …) recorded as facts, never as our lifecycle.
export const CrmPropertyChangedData = z.object({
  occurredAt: OccurredAt,
  property: z.string().min(1),
  value: z.string().nullable(),
  previousValue: z.string().nullable().optional(),
});

export const CustomerDeletedData = z.object({
  occurredAt: OccurredAt,
  // Which system deleted its record of the customer; the ledger keeps the history.
  deletedIn: IdentityKind,
  reason: z.string().optional(),
});

export const IdentityLinkedData = z.object({
  occurredAt: OccurredAt,
  kind: IdentityKind,
  externalId: ExternalId,
});

export const IdentityUnlinkedData = z.object({
  occurredAt: OccurredAt,
  kind: IdentityKind,
  externalId: ExternalId,
  reason: z.string().optional(),
});
