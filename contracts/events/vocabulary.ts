// Plain constants (no zod) so that domain/ can import the vocabulary without pulling in the
// schemas: the pure core stays small and the words stay defined in one place.

export const LIFECYCLE_STATES = ['lead', 'trial', 'active', 'past_due', 'canceled', 'refunded', 'needs_review'] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];

// Stripe's subscription statuses as of the 2025 API versions.
export const SUBSCRIPTION_STATUSES = [
  'incomplete',
  'incomplete_expired',
  'trialing',
  'active',
  'past_due',
  'unpaid',
  'canceled',
  'paused',
] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

export const IDENTITY_KINDS = ['stripe', 'crm', 'support', 'app', 'email'] as const;
export type IdentityKind = (typeof IDENTITY_KINDS)[number];

export const TICKET_STATUSES = ['new', 'open', 'pending', 'hold', 'solved', 'closed'] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];

export const TICKET_PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export type TicketPriority = (typeof TICKET_PRIORITIES)[number];

export const OVERRIDE_ACTIONS = ['set_state', 'resolve_review'] as const;
export type OverrideAction = (typeof OVERRIDE_ACTIONS)[number];

// The version every event type is written at today. A stored event with a lower version is
// upcast on read (contracts/upcasters.ts); bump a number only together with an upcaster.
export const SCHEMA_VERSIONS = {
  LeadCaptured: 2,
  TrialStarted: 1,
  SubscriptionActivated: 1,
  SubscriptionChanged: 1,
  TrialWillEnd: 1,
  PaymentSucceeded: 2,
  PaymentFailed: 1,
  SubscriptionCanceled: 1,
  RefundIssued: 1,
  DisputeOpened: 1,
  TicketOpened: 1,
  TicketUpdated: 1,
  TicketClosed: 1,
  IdentityLinked: 1,
  IdentityUnlinked: 1,
  CustomerProfileUpdated: 1,
  CrmPropertyChanged: 1,
  CustomerDeleted: 1,
  LifecycleChanged: 1,
  FlaggedForReview: 1,
  ManualOverrideApplied: 1,
  ReviewResolved: 1,
  LifecycleRedated: 1,
} as const;
export type DomainEventType = keyof typeof SCHEMA_VERSIONS;

// Facts come from the outside world and are always recorded; decisions are what the ledger
// concluded from them (or what a human decided).
export const DECISION_TYPES = ['LifecycleChanged', 'FlaggedForReview', 'ManualOverrideApplied', 'ReviewResolved', 'LifecycleRedated'] as const;
export type DecisionType = (typeof DECISION_TYPES)[number];
export type FactType = Exclude<DomainEventType, DecisionType>;
export const FACT_TYPES = (Object.keys(SCHEMA_VERSIONS) as DomainEventType[]).filter(
  (type): type is FactType => !(DECISION_TYPES as readonly string[]).includes(type),
);
