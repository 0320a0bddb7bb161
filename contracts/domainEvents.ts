import { z } from 'zod';
import { LedgerError } from '../domain/errors.ts';
import {
  DisputeOpenedData,
  PaymentFailedData,
  PaymentSucceededData,
  RefundIssuedData,
  SubscriptionActivatedData,
  SubscriptionCanceledData,
  SubscriptionChangedData,
  TrialStartedData,
  TrialWillEndData,
} from './events/billingFacts.ts';
import {
  CrmPropertyChangedData,
  CustomerDeletedData,
  CustomerProfileUpdatedData,
  IdentityLinkedData,
  IdentityUnlinkedData,
  LeadCapturedData,
} from './events/customerFacts.ts';
import { FlaggedForReviewData, LifecycleChangedData, LifecycleRedatedData, ManualOverrideAppliedData, ReviewResolvedData } from './events/decisions.ts';
import { TicketClosedData, TicketOpenedData, TicketUpdatedData } from './events/ticketFacts.ts';
import { DECISION_TYPES, SCHEMA_VERSIONS, type DecisionType, type DomainEventType, type FactType } from './events/vocabulary.ts';
import { upcasters } from './upcasters.ts';

export * from './events/vocabulary.ts';

const entry = <T extends DomainEventType, S extends z.ZodType>(type: T, schema: S) => ({ version: SCHEMA_VERSIONS[type], schema });

// type -> the version written today and the schema of its `data` at that version.
export const domainEventSchemas = {
  LeadCaptured: entry('LeadCaptured', LeadCapturedData),
  TrialStarted: entry('TrialStarted', TrialStartedData),
  SubscriptionActivated: entry('SubscriptionActivated', SubscriptionActivatedData),
  SubscriptionChanged: entry('SubscriptionChanged', SubscriptionChangedData),
  TrialWillEnd: entry('TrialWillEnd', TrialWillEndData),
  PaymentSucceeded: entry('PaymentSucceeded', PaymentSucceededData),
  PaymentFailed: entry('PaymentFailed', PaymentFailedData),
  SubscriptionCanceled: entry('SubscriptionCanceled', SubscriptionCanceledData),
  RefundIssued: entry('RefundIssued', RefundIssuedData),
  DisputeOpened: entry('DisputeOpened', DisputeOpenedData),
  TicketOpened: entry('TicketOpened', TicketOpenedData),
  TicketUpdated: entry('TicketUpdated', TicketUpdatedData),
  TicketClosed: entry('TicketClosed', TicketClosedData),
  IdentityLinked: entry('IdentityLinked', IdentityLinkedData),
  IdentityUnlinked: entry('IdentityUnlinked', IdentityUnlinkedData),
  CustomerProfileUpdated: entry('CustomerProfileUpdated', CustomerProfileUpdatedData),
  CrmPropertyChanged: entry('CrmPropertyChanged', CrmPropertyChangedData),
  CustomerDeleted: entry('CustomerDeleted', CustomerDeletedData),
  LifecycleChanged: entry('LifecycleChanged', LifecycleChangedData),
  FlaggedForReview: entry('FlaggedForReview', FlaggedForReviewData),
  ManualOverrideApplied: entry('ManualOverrideApplied', ManualOverrideAppliedData),
  ReviewResolved: entry('ReviewResolved', ReviewResolvedData),
  LifecycleRedated: entry('LifecycleRedated', LifecycleRedatedData),
} satisfies { [K in DomainEventType]: { version: number; schema: z.ZodType } };

export type DomainEventData<K extends DomainEventType> = z.infer<(typeof domainEventSchemas)[K]['schema']>;

// An event as the domain decides it; the service layer adds metadata (contracts/eventMetadata.ts).
export type DomainEventOf<K extends DomainEventType> = { type: K; schemaVersion: number; data: DomainEventData<K> };
export type DomainEvent = { [K in DomainEventType]: DomainEventOf<K> }[DomainEventType];
export type FactEvent = { [K in FactType]: DomainEventOf<K> }[FactType];
export type DecisionEvent = { [K in DecisionType]: DomainEventOf<K> }[DecisionType];

export function domainEvent<K extends DomainEventType>(type: K, data: DomainEventData<K>): DomainEventOf<K> {
  return { type, schemaVersion: SCHEMA_VERSIONS[type], data };
}

export function isDomainEventType(type: string): type is DomainEventType {
  return Object.hasOwn(SCHEMA_VERSIONS, type);
}

export function isFactEvent(event: DomainEvent): event is FactEvent {
  return !(DECISION_TYPES as readonly string[]).includes(event.type);
}

// Read path for stored events (and the guard before an append): upcast to today's version,
// then validate. Anything that fails is a bug or a newer writer, reported with field paths only.
export function parseDomainEvent(type: string, schemaVersion: number, data: unknown): DomainEvent {
  if (!isDomainEventType(type)) {
    throw new LedgerError('LEDGER_EVENT_SCHEMA', `Unknown event type ${type}`, { type, schemaVersion });
  }
  const { version, schema } = domainEventSchemas[type];
  let upcasted: unknown;
  try {
    upcasted = upcasters.upcast(type, schemaVersion, data);
  } catch (error) {
    if (error instanceof LedgerError) throw error;
    throw schemaError(type, schemaVersion, error);
  }
  const parsed = schema.safeParse(upcasted);
  if (!parsed.success) throw schemaError(type, schemaVersion, parsed.error);
  // The registry is keyed by `type`, so `parsed.data` is that type's data; TypeScript cannot
  // correlate the two through the index.
  return { type, schemaVersion: version, data: parsed.data } as DomainEvent;
}

function schemaError(type: string, schemaVersion: number, error: unknown): LedgerError {
  const issues = error instanceof z.ZodError ? error.issues.map((issue) => ({ path: issue.path.join('.'), code: issue.code })) : [];
  return new LedgerError('LEDGER_EVENT_SCHEMA', `${type} v${schemaVersion} does not match its schema`, { type, schemaVersion, issues });
}
