import type { LedgerConfig } from '../contracts/config.ts';
import { appReadModel, type AppOptions } from './app/appEntitlements.ts';
import { crmReadModel, type CrmOptions } from './crm/crmContact.ts';
import type { ReadModelName } from './projection.ts';
import { supportReadModel, type SupportOptions } from './support/supportProfile.ts';

// The three read models the runtime feeds, by name, and the options each one takes.

export { appReadModel, crmReadModel, supportReadModel };
export type { AppOptions, CrmOptions, SupportOptions };
export type { AppEntitlements, AppEntitlementsView } from './app/appEntitlements.ts';
export { hasAccessAt, type Access, type AccessGrant } from './app/entitlementAccess.ts';
export type { StatusCode } from './app/statusMessage.ts';
export type { CrmContact, CrmContactView, CrmShared } from './crm/crmContact.ts';
export type { CrmStage } from './crm/crmStage.ts';
export type { TagChange } from './crm/crmTags.ts';
export type { SupportProfile, SupportProfileView, SupportShared } from './support/supportProfile.ts';
export type { SupportTicket } from './support/supportTickets.ts';
export type { BillingStatus, Queue } from './support/billingRouting.ts';

export interface ReadModelOptions {
  crm: CrmOptions;
  support: SupportOptions;
  app: AppOptions;
}

export const readModels = {
  crm: crmReadModel,
  support: supportReadModel,
  app: appReadModel,
} as const satisfies Record<ReadModelName, { name: ReadModelName }>;

// The same defaults as an empty environment gives config.projections (tested).
export const defaultReadModelOptions: ReadModelOptions = {
  crm: { owners: {}, ownerAssignment: 'round-robin' },
  support: { vipMrrCents: 50_000 },
  app: { pastDueGraceDays: 7, planFeatures: {} },
};

// config.projections is built to this shape: this stops compiling if the two drift apart.
export const readModelOptionsFrom = (projections: LedgerConfig['projections']): ReadModelOptions => projections;
