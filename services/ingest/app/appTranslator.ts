import { domainEvent, type FactEvent } from '../../../contracts/domainEvents.ts';
import type { AppEventRequest, LeadRequest } from '../../../contracts/inbound/app.ts';
import { emailIdentityId } from '../../../contracts/inbound/emailAddress.ts';
import type { IdentityClaim } from '../../eventstore/port.ts';

// Pure: an app request in, the fact to record and whom it is about out. `receivedAt` stands in
// for the app's own time when the request does not say, and when it says a time after it: a
// device clock running ahead (or a typo, 2099) made a fact newer than every later one, so that
// no profile change after it counted (profileFields.ts).
const timeOf = (claimed: string | undefined, receivedAt: Date): string =>
  claimed === undefined || Date.parse(claimed) > receivedAt.getTime() ? receivedAt.toISOString() : claimed;

export interface AppFact {
  fact: FactEvent;
  // Strongest first: the app's user id, then the normalised email.
  identities: IdentityClaim[];
  createIfMissing: boolean;
}

const personIds = (appUserId: string | undefined, email: string | null | undefined): IdentityClaim[] => [
  ...(appUserId === undefined ? [] : [{ kind: 'app', externalId: appUserId }]),
  ...(typeof email === 'string' ? [{ kind: 'email', externalId: emailIdentityId(email) }] : []),
];

export function translateLead(lead: LeadRequest, receivedAt: Date): AppFact {
  const { appUserId, occurredAt, ...person } = lead;
  return {
    fact: domainEvent('LeadCaptured', { ...person, occurredAt: timeOf(occurredAt, receivedAt) }),
    identities: personIds(appUserId, lead.email),
    createIfMissing: true,
  };
}

export function translateAppEvent(event: AppEventRequest, receivedAt: Date): AppFact {
  const occurredAt = timeOf(event.occurredAt, receivedAt);
  switch (event.type) {
    case 'profile_updated':
      // The app knows its users even when the ledger has not heard of one yet.
      return {
        fact: domainEvent('CustomerProfileUpdated', { ...event.profile, occurredAt }),
        identities: personIds(event.appUserId, event.profile.email),
        createIfMissing: true,
      };
    case 'account_deleted':
      // Deleting someone we never knew records nothing: the request answers 404.
      return {
        fact: domainEvent('CustomerDeleted', { occurredAt, deletedIn: 'app', ...(event.reason === undefined ? {} : { reason: event.reason }) }),
        identities: personIds(event.appUserId, undefined),
        createIfMissing: false,
      };
    default: {
      const unhandled: never = event;
      throw new Error(`Unhandled app event ${JSON.stringify(unhandled)}`);
    }
  }
}
