import { z } from 'zod';

// A HubSpot webhook delivery: a JSON array (a batch) of CRM change notifications. Only the
// fields we read are named; the rest are dropped. Fields that only some subscription types carry
// (objectId, propertyName, …) are optional here, so that one item of a type we do not handle
// (an association change has no objectId) cannot make HubSpot's whole batch fail.

// HubSpot's ids are JSON numbers today; a string is accepted too, so a wider id never breaks
// the contract. Either way the ledger keeps it as a string.
const HubspotId = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]).transform(String);

export const HubspotEvent = z.object({
  eventId: HubspotId,
  subscriptionId: HubspotId,
  portalId: HubspotId,
  appId: HubspotId.optional(),
  // Milliseconds since the epoch.
  occurredAt: z.number().int().nonnegative(),
  subscriptionType: z.string().min(1),
  attemptNumber: z.number().int().nonnegative().optional(),
  objectId: HubspotId.optional(),
  propertyName: z.string().min(1).optional(),
  // "REDACTED" for properties marked sensitive; "" when the property was cleared.
  propertyValue: z.string().nullable().optional(),
  changeSource: z.string().optional(),
  changeFlag: z.string().optional(),
  sourceId: z.string().optional(),
});
export type HubspotEvent = z.infer<typeof HubspotEvent>;

export const HubspotBatch = z.array(HubspotEvent);
export type HubspotBatch = z.infer<typeof HubspotBatch>;

// The value HubSpot sends in place of a sensitive property's value.
export const HUBSPOT_REDACTED = 'REDACTED';
