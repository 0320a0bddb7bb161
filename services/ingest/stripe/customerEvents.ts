import { domainEvent } from '../../../contracts/domainEvents.ts';
import { normalisedEmail, type StripeKnownEvent } from '../../../contracts/inbound/stripe.ts';
import type { Translation } from '../webhookSource.ts';
import { hasProfileData, profileChangeOf } from './stripeProfile.ts';
import { claimsOf, factsOf, ignoredEvent, occurredAtOf } from './stripeFacts.ts';

type CustomerEvent = Extract<StripeKnownEvent, { type: `customer.${'created' | 'updated' | 'deleted'}` }>;

// customer.created / updated -> CustomerProfileUpdated (only when it says something);
// customer.deleted -> CustomerDeleted, for a customer we already know.
export function translateCustomerEvent(event: CustomerEvent): Translation {
  const customer = event.data.object;
  const occurredAt = occurredAtOf(event.created);
  if (event.type === 'customer.deleted') {
    const fact = domainEvent('CustomerDeleted', { occurredAt, deletedIn: 'stripe' });
    return factsOf(event.id, [{ fact, identities: claimsOf({ customer: customer.id }), createIfMissing: false }]);
  }
  const previous = event.data.previous_attributes;
  const change = profileChangeOf(customer, (field) => event.type === 'customer.updated' && previous != null && Object.hasOwn(previous, field));
  if (!hasProfileData(change)) return ignoredEvent(event.id, 'customer without email, name or phone');
  const fact = domainEvent('CustomerProfileUpdated', { occurredAt, ...change });
  const identities = claimsOf({ customer: customer.id, email: normalisedEmail(customer.email) });
  return factsOf(event.id, [{ fact, identities, createIfMissing: true }]);
}
