import { z } from 'zod';
import { issuesOf, parseWith, validationError, type FieldError } from '../parseBody.ts';

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
  // Milliseconds since the epoch, before the year 10000 (past it a Date cannot hold it).
  occurredAt: z.number().int().nonnegative().max(253_402_300_799_999, { error: 'must be a Unix time in milliseconds' }),
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

// What the ledger reads of a batch: the items that keep the contract, in order, and where each
// of the others broke it.
export interface HubspotDelivery {
  events: HubspotEvent[];
  invalid: { index: number; errors: FieldError[] }[];
}

// One item that breaks the contract must not lose the others: HubSpot does not retry a 4xx, so a
// 400 for the batch dropped every good item with it. Each item is judged alone, and the broken
// ones are kept in the inbox as ignored, their field paths named (`ledger redeliver` re-reads
// them after a fix). A batch without one good item is a 400, as any body that breaks the contract.
export function parseHubspotBatch(value: unknown): HubspotDelivery {
  const items = parseWith(z.array(z.unknown()), value);
  const delivery: HubspotDelivery = { events: [], invalid: [] };
  items.forEach((item, index) => {
    const result = HubspotEvent.safeParse(item);
    if (result.success) delivery.events.push(result.data);
    else delivery.invalid.push({ index, errors: issuesOf(result.error).map((e) => ({ ...e, path: e.path === '(root)' ? `${index}` : `${index}.${e.path}` })) });
  });
  if (delivery.events.length === 0 && delivery.invalid.length > 0) throw validationError(delivery.invalid.flatMap((item) => item.errors));
  return delivery;
}

// The value HubSpot sends in place of a sensitive property's value.
export const HUBSPOT_REDACTED = 'REDACTED';
