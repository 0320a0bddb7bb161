import type { IncomingHttpHeaders } from 'node:http';
import type { FactEvent } from '../../contracts/domainEvents.ts';
import type { IdentityClaim } from '../eventstore/port.ts';

// One fact a delivery carries for one customer. A delivery may carry several (HubSpot batches).
export interface TranslatedFact {
  // Unique within the source: the de-duplication key of this fact.
  sourceEventId: string;
  // The provider's type of the event carrying it, where one event id names one event (Stripe,
  // Zendesk): kept in the events' metadata, so that the id reused for another event is refused.
  sourceType?: string;
  // External ids naming the customer, strongest first (e.g. stripe cus_…, then email).
  // Lookup-only kinds such as `stripe_charge` let a refund find the customer that paid.
  identities: IdentityClaim[];
  // false when the fact must not invent a customer (a refund for a charge nobody knows).
  createIfMissing: boolean;
  fact: FactEvent;
}

export interface Translation {
  facts: TranslatedFact[];
  // Events the source sent that mean nothing to the lifecycle (unknown Stripe types, …):
  // acknowledged with a 2xx so the provider stops retrying, kept in the inbox, counted.
  ignored: { sourceEventId: string; reason: string }[];
}

export interface VerifyInput {
  rawBody: Buffer;
  headers: IncomingHttpHeaders;
  // Method and the URL as the provider called it (HubSpot signs them).
  method: string;
  url: string;
  now: Date;
}

export interface WebhookSource<Payload> {
  name: 'stripe' | 'crm' | 'support';
  path: string;
  // Throws LedgerError LEDGER_SIGNATURE_* when the delivery is not from the provider.
  verify(input: VerifyInput): void;
  // Throws LedgerError LEDGER_MALFORMED_JSON / LEDGER_VALIDATION naming the field path.
  parse(rawBody: Buffer): Payload;
  // Pure: payload in, facts out. Never reads the clock.
  translate(payload: Payload): Translation;
}
