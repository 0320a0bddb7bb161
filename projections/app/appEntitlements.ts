import type { ReviewReason } from '../../contracts/events/decisions.ts';
import type { LifecycleState } from '../../contracts/events/vocabulary.ts';
import type { CustomerState } from '../../domain/customerState.ts';
import { heldPlans, lookupByPlan, planName, primaryPlan, type PlanTable } from '../customerView.ts';
import { alreadyApplied, jsonEqual, nextMeta, type DocMeta } from '../docChanges.ts';
import type { ReadModel } from '../projection.ts';
import { accessOf, type AccessGrant } from './entitlementAccess.ts';
import { statusOf, type StatusCode } from './statusMessage.ts';

// The app's entitlements per customer (the API resolves an app user to its customer). `version`
// is the ETag and what a long-poll waits on, so it moves exactly when the app would see a change.

export interface AppOptions {
  // Days of access after falling past due (LEDGER_PAST_DUE_GRACE_DAYS).
  pastDueGraceDays: number;
  // Features by plan key (lower-cased price id or nickname) and `default` (LEDGER_PLAN_FEATURES).
  planFeatures: PlanTable<readonly string[]>;
}

export interface AppEntitlementsView extends AccessGrant {
  customerId: string;
  lifecycle: LifecycleState;
  reviewReason: ReviewReason | null;
  trialEndsAt: string | null;
  // The plan the access comes from; null without access.
  plan: string | null;
  priceId: string | null;
  // What the held plans unlock (the current one's and any live add-on's); [] without access.
  // Apply only while hasAccessAt(doc, now).
  features: string[];
  statusCode: StatusCode;
  statusMessage: string;
}

export type AppEntitlements = AppEntitlementsView & DocMeta;
export type AppShared = Record<string, never>;

export const appReadModel: ReadModel<AppEntitlements, AppShared, AppOptions> = {
  name: 'app',
  initialShared: {},
  apply(doc, input, { options, shared }) {
    if (alreadyApplied(doc, input)) return { doc, shared };
    const view = entitlementsView(input.customerId, input.after, doc ?? null, options);
    if (doc !== undefined && jsonEqual(view, viewOf(doc))) return { doc, shared };
    return { doc: { ...view, ...nextMeta(doc, input) }, shared };
  },
};

function entitlementsView(customerId: string, state: CustomerState, previous: AccessGrant | null, options: AppOptions): AppEntitlementsView {
  const grant = accessOf(state, previous === null ? null : { access: previous.access, graceEndsAt: previous.graceEndsAt }, options.pastDueGraceDays);
  const plan = grant.access === 'none' ? null : primaryPlan(state);
  return {
    customerId,
    lifecycle: state.lifecycle,
    reviewReason: state.review?.reason ?? null,
    access: grant.access,
    graceEndsAt: grant.graceEndsAt,
    trialEndsAt: state.lifecycle === 'trial' ? state.trialEndsAt : null,
    plan: plan === null ? null : planName(plan),
    priceId: plan?.priceId ?? null,
    features: plan === null ? [] : [...new Set(heldPlans(state).flatMap((held) => lookupByPlan(options.planFeatures, held)?.value ?? []))],
    ...statusOf(state, grant),
  };
}

function viewOf(doc: AppEntitlements): AppEntitlementsView {
  const { version, lastCorrelationId, updatedAtPosition, ...view } = doc;
  return view;
}
