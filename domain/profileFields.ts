import type { DomainEventOf } from '../contracts/domainEvents.ts';
import type { CustomerState } from './customerState.ts';

type Profile = CustomerState['profile'];
type ProfileFact = DomainEventOf<'LeadCaptured'> | DomainEventOf<'CustomerProfileUpdated'>;

const FIELDS = ['email', 'firstName', 'lastName', 'phone'] as const satisfies readonly (keyof Profile)[];

// Each profile field keeps the source time of the value it holds. Judged as one object (the
// `profile` ordering key), a late fact lost every field it carried, a different one too: a phone
// number HubSpot sent in a batch older than a last-name change was never kept. Per field, an
// older fact still fills what no newer fact said, and never overwrites a newer value. Absent
// fields leave what we know; `null` (profile updates only) clears, so a lead form fills gaps and
// never erases what the customer told us elsewhere. At the same instant the later arrival
// wins, as for one object before.
export function withProfileFact(state: CustomerState, fact: ProfileFact): CustomerState {
  const { occurredAt } = fact.data;
  const at = Date.parse(occurredAt);
  // A basis stored before the per-field times: every value it holds is as new as the profile's watermark.
  const legacy = state.profileAt === undefined ? state.watermarks.profile?.occurredAt : undefined;
  let profile: Profile = state.profile;
  let profileAt = state.profileAt ?? {};
  for (const field of FIELDS) {
    const value = fact.data[field];
    if (value === undefined) continue;
    const heldAt = profileAt[field] ?? (state.profile[field] === null ? undefined : legacy);
    if (heldAt !== undefined && Date.parse(heldAt) > at) continue;
    if (profile[field] !== value) profile = { ...profile, [field]: value };
    if (profileAt[field] !== occurredAt) profileAt = { ...profileAt, [field]: occurredAt };
  }
  return profile === state.profile && profileAt === state.profileAt ? state : { ...state, profile, profileAt };
}
