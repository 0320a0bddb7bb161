import { domainEvent, type DomainEventData, type FactEvent } from '../../../contracts/domainEvents.ts';
import { emailIdentityId, isEmailAddress } from '../../../contracts/inbound/emailAddress.ts';
import { HUBSPOT_REDACTED, type HubspotDelivery, type HubspotEvent } from '../../../contracts/inbound/hubspot.ts';
import { describeErrors } from '../../../contracts/parseBody.ts';
import type { IdentityClaim } from '../../eventstore/port.ts';
import type { TranslatedFact, Translation } from '../webhookSource.ts';

// HubSpot batch -> facts, one item at a time, in the batch's order. Pure: no clock, no I/O.

// HubSpot's own advice: eventId alone is not unique, this tuple is.
export function hubspotEventKey(event: HubspotEvent): string {
  return [event.portalId, event.subscriptionId, event.eventId, event.occurredAt, event.objectId ?? ''].join(':');
}

// Contact properties that are also the customer's profile (HubSpot's internal names).
const PROFILE_PROPERTIES = {
  email: 'email',
  firstname: 'firstName',
  lastname: 'lastName',
  phone: 'phone',
} as const;
type ProfileProperty = keyof typeof PROFILE_PROPERTIES;
const isProfileProperty = (name: string): name is ProfileProperty => Object.hasOwn(PROFILE_PROPERTIES, name);

export function translateHubspotBatch(batch: HubspotDelivery): Translation {
  const translation: Translation = { facts: [], ignored: [] };
  const emails = batchEmails(batch.events);
  for (const event of batch.events) {
    const key = hubspotEventKey(event);
    const item = translateItem(event, key);
    if ('ignored' in item) translation.ignored.push({ sourceEventId: key, reason: item.ignored });
    else translation.facts.push(...item.facts.map((fact) => withBatchEmail(fact, emails)));
  }
  // Its key may be what broke: named by its place in the batch.
  for (const { index, errors } of batch.invalid) translation.ignored.push({ sourceEventId: `batch item ${index}`, reason: `breaks the contract: ${describeErrors(errors)}` });
  return translation;
}

type ItemTranslation = { facts: TranslatedFact[] } | { ignored: string };

// HubSpot's contact.creation carries no e-mail: the address comes as a property change, often in
// the same batch. Created on its own first, a contact the app already knew by that address became
// a second customer, and the e-mail then a conflict for a human (ambiguous_identity). Every fact
// of a contact whose batch names one address for it is claimed with that address too, so the
// contact lands on the customer who has it. Two addresses for one contact in a batch: neither.
function batchEmails(events: HubspotEvent[]): Map<string, string | null> {
  const emails = new Map<string, string | null>();
  for (const event of events) {
    if (event.subscriptionType !== 'contact.propertyChange' || event.objectId === undefined || event.propertyName?.toLowerCase() !== 'email') continue;
    const value = event.propertyValue?.trim();
    if (!value || !isEmailAddress(value)) continue;
    const id = emailIdentityId(value);
    const seen = emails.get(event.objectId);
    emails.set(event.objectId, seen === undefined || seen === id ? id : null);
  }
  return emails;
}

function withBatchEmail(fact: TranslatedFact, emails: Map<string, string | null>): TranslatedFact {
  const contact = fact.identities[0];
  const email = contact?.kind === 'crm' ? emails.get(contact.externalId) : undefined;
  if (!email || fact.identities.some((claim) => claim.kind === 'email')) return fact;
  return { ...fact, identities: [...fact.identities, { kind: 'email', externalId: email }] };
}

function translateItem(event: HubspotEvent, key: string): ItemTranslation {
  if (!event.subscriptionType.startsWith('contact.')) return { ignored: `unsupported subscriptionType ${event.subscriptionType}` };
  if (event.objectId === undefined) return { ignored: `${event.subscriptionType} without objectId` };
  const contact: IdentityClaim = { kind: 'crm', externalId: event.objectId };
  const occurredAt = new Date(event.occurredAt).toISOString();
  const aboutContact = (createIfMissing: boolean, fact: FactEvent): ItemTranslation => ({
    facts: [{ sourceEventId: key, identities: [contact], createIfMissing, fact }],
  });

  switch (event.subscriptionType) {
    case 'contact.creation':
      return aboutContact(true, domainEvent('LeadCaptured', { occurredAt, channel: channelOf(event) }));
    case 'contact.propertyChange':
      return propertyChange(event, key, occurredAt, contact);
    case 'contact.deletion':
    case 'contact.privacyDeletion': {
      const reason = event.subscriptionType === 'contact.privacyDeletion' ? { reason: 'privacy deletion' } : {};
      // A deletion must not invent the customer it deletes.
      return aboutContact(false, domainEvent('CustomerDeleted', { occurredAt, deletedIn: 'crm', ...reason }));
    }
    default:
      return { ignored: `unsupported subscriptionType ${event.subscriptionType}` };
  }
}

function channelOf(event: HubspotEvent): string {
  return event.changeSource === undefined ? 'crm' : `crm:${event.changeSource.toLowerCase()}`;
}

// Every property change is recorded as the CRM's fact (lifecycle stage and owner included:
// they are the CRM's words, never our lifecycle). Profile properties also update the profile.
// A contact we have not seen created yet is created here: HubSpot does not order batches, so
// its creation may still be on the way, and it will then land on the same customer.
function propertyChange(event: HubspotEvent, key: string, occurredAt: string, contact: IdentityClaim): ItemTranslation {
  if (event.propertyName === undefined) return { ignored: 'contact.propertyChange without propertyName' };
  // "" is how HubSpot says the property was cleared. A sensitive property arrives as the
  // literal "REDACTED", which is kept as sent: it tells that the property changed without the
  // ledger ever holding the value.
  const value = event.propertyValue === undefined || event.propertyValue === null || event.propertyValue === '' ? null : event.propertyValue;
  const facts: TranslatedFact[] = [
    {
      sourceEventId: key,
      identities: [contact],
      createIfMissing: true,
      fact: domainEvent('CrmPropertyChanged', { occurredAt, property: event.propertyName, value }),
    },
  ];
  const profile = profileChange(event.propertyName, value, occurredAt);
  if (profile !== undefined) {
    facts.push({
      // Its own key: each fact is de-duplicated on its own, and a redelivery skips both.
      sourceEventId: `${key}:profile`,
      identities: profile.email ? [contact, { kind: 'email', externalId: emailIdentityId(profile.email) }] : [contact],
      createIfMissing: true,
      fact: profile.fact,
    });
  }
  return { facts };
}

function profileChange(property: string, value: string | null, occurredAt: string): { fact: FactEvent; email?: string } | undefined {
  const name = property.toLowerCase();
  if (!isProfileProperty(name) || value === HUBSPOT_REDACTED) return undefined;
  const profile = (change: Omit<DomainEventData<'CustomerProfileUpdated'>, 'occurredAt'>) =>
    domainEvent('CustomerProfileUpdated', { occurredAt, ...change });
  switch (PROFILE_PROPERTIES[name]) {
    case 'email': {
      if (value === null) return { fact: profile({ email: null }) };
      // The CRM lets users type anything; an address that is not one stays a CRM property only.
      if (!isEmailAddress(value)) return undefined;
      const email = value.trim();
      return { fact: profile({ email }), email };
    }
    case 'firstName':
      return { fact: profile({ firstName: value }) };
    case 'lastName':
      return { fact: profile({ lastName: value }) };
    case 'phone':
      return value !== null && value.trim().length < 3 ? undefined : { fact: profile({ phone: value }) };
  }
}
