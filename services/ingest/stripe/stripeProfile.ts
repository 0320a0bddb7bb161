import type { DomainEventData } from '../../../contracts/domainEvents.ts';
import { normalisedEmail } from '../../../contracts/inbound/stripe.ts';

type ProfileChange = Omit<DomainEventData<'CustomerProfileUpdated'>, 'occurredAt'>;

// What a person typed (at checkout, in the Stripe dashboard) as a profile change: present values
// are set; a value listed as changed (`previous_attributes`) and now empty is cleared.
export function profileChangeOf(
  details: { email?: string | null | undefined; name?: string | null | undefined; phone?: string | null | undefined },
  changed: (field: 'email' | 'name' | 'phone') => boolean = () => false,
): ProfileChange {
  const profile: ProfileChange = {};
  const email = normalisedEmail(details.email);
  if (email !== undefined) profile.email = email;
  else if (changed('email')) profile.email = null;

  const name = details.name?.trim().split(/\s+/).filter((part) => part.length > 0) ?? [];
  const [first, ...rest] = name;
  if (first !== undefined) {
    profile.firstName = first;
    if (rest.length > 0) profile.lastName = rest.join(' ');
    else if (changed('name')) profile.lastName = null;
  } else if (changed('name')) {
    profile.firstName = null;
    profile.lastName = null;
  }

  const phone = details.phone?.trim();
  if (phone !== undefined && phone.length >= 3) profile.phone = phone;
  else if (changed('phone')) profile.phone = null;
  return profile;
}

export const hasProfileData = (change: ProfileChange): boolean => Object.keys(change).length > 0;
