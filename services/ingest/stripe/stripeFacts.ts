import type { FactEvent } from '../../../contracts/domainEvents.ts';
import type { IdentityClaim } from '../../eventstore/port.ts';
import type { Translation } from '../webhookSource.ts';

// The pieces every Stripe translator shares: a fact with the identities that name its customer,
// and the rule that turns one event's facts into de-duplication keys.

export interface StripeFact {
  fact: FactEvent;
  identities: IdentityClaim[];
  createIfMissing: boolean;
}

// Stripe's `created` is whole seconds; domain/ordering.ts decides what a tie means.
export const occurredAtOf = (created: number): string => new Date(created * 1000).toISOString();

// The first fact of an event keeps the event id as its key; the others add their type, so a
// re-delivery de-duplicates each fact and a partly processed delivery completes on retry.
export function factsOf(eventId: string, facts: StripeFact[]): Translation {
  return {
    facts: facts.map((item, index) => ({ ...item, sourceEventId: index === 0 ? eventId : `${eventId}:${item.fact.type}` })),
    ignored: [],
  };
}

export function ignoredEvent(eventId: string, reason: string): Translation {
  return { facts: [], ignored: [{ sourceEventId: eventId, reason }] };
}

type LookupKind = 'stripe_subscription' | 'stripe_invoice' | 'stripe_charge' | 'stripe_payment_intent';

// Strongest first: the Stripe customer, then the e-mail, then lookup keys for the objects the
// event names, so a later event that lacks the customer (a refund) still finds it.
export function claimsOf(parts: {
  customer?: string | null | undefined;
  email?: string | undefined;
  lookups?: Array<[LookupKind, string | null | undefined]>;
}): IdentityClaim[] {
  const claims: IdentityClaim[] = [];
  const add = (kind: string, externalId: string | null | undefined) => {
    if (externalId && !claims.some((claim) => claim.kind === kind && claim.externalId === externalId)) claims.push({ kind, externalId });
  };
  add('stripe', parts.customer);
  add('email', parts.email);
  for (const [kind, externalId] of parts.lookups ?? []) add(kind, externalId);
  return claims;
}

// Builds an object without the keys whose value is undefined, so facts compare and store the
// same way whether or not Stripe sent a field.
export function withoutUndefined<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
