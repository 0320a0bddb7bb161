import type { ReviewReason } from '../../contracts/events/decisions.ts';
import type { LifecycleState } from '../../contracts/events/vocabulary.ts';
import type { CustomerState } from '../../domain/customerState.ts';
import { countedMrrCents, holdsPlan, planName, primaryPlan, standingOf, type StandingLifecycle } from '../customerView.ts';
import { alreadyApplied, jsonEqual, nextMeta, type DocMeta } from '../docChanges.ts';
import type { ProjectedEvent, ReadModel } from '../projection.ts';
import { assignOwner, initialOwnerRotation, type OwnerAssignment, type OwnerPools, type OwnerRotation } from './crmOwners.ts';
import { STAGE_OF, type CrmStage } from './crmStage.ts';
import { TAG_HISTORY_LIMIT, tagDiff, tagsFor, type TagChange } from './crmTags.ts';

// One CRM contact per customer: what a CRM sync worker writes to HubSpot (or any CRM).

export interface CrmOptions {
  // Owner pools by plan key (lower-cased price id or nickname) and `default`; {} = unassigned.
  owners: OwnerPools;
  // How a pool's owner is chosen (crmOwners.ts); round-robin when unset.
  ownerAssignment?: OwnerAssignment;
}

export interface CrmContactView {
  customerId: string;
  stage: CrmStage;
  lifecycle: LifecycleState;
  pastDue: boolean;
  needsReview: boolean;
  reviewReason: ReviewReason | null;
  // The held plan (trial, active, past_due; under review: as flagged from), else null.
  plan: string | null;
  priceId: string | null;
  mrrCents: number | null;
  currency: string | null;
  tags: string[];
  owner: string | null;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  phone: string | null;
  lastPayment: { amountCents: number; currency: string; at: string; outcome: 'succeeded' | 'failed' } | null;
}

export interface CrmContact extends CrmContactView, DocMeta {
  tagHistory: TagChange[];
}

export type CrmShared = OwnerRotation;

export const crmReadModel: ReadModel<CrmContact, CrmShared, CrmOptions> = {
  name: 'crm',
  initialShared: initialOwnerRotation,
  apply(doc, input, { options, shared }) {
    if (alreadyApplied(doc, input)) return { doc, shared };
    const standing = standingOf(input.after) ?? previousStanding(doc);
    // The instant between ReviewResolved and its LifecycleChanged says nothing new.
    if (standing === null) return { doc, shared };
    const { owner, rotation } = assignOwner(doc?.owner ?? null, { customerId: input.customerId, plan: primaryPlan(input.after) }, options.owners, shared, options.ownerAssignment);
    const view = contactView(input.customerId, input.after, standing, owner);
    if (doc !== undefined && jsonEqual(view, viewOf(doc))) return { doc, shared };
    return { doc: { ...view, ...nextMeta(doc, input), tagHistory: nextTagHistory(doc, view, input) }, shared: rotation };
  },
};

function contactView(customerId: string, state: CustomerState, standing: StandingLifecycle, owner: string | null): CrmContactView {
  const shown = primaryPlan(state);
  const plan = holdsPlan(standing) ? shown : null;
  const payment = state.lastPayment;
  return {
    customerId,
    stage: STAGE_OF[standing],
    lifecycle: state.lifecycle,
    pastDue: standing === 'past_due',
    needsReview: state.lifecycle === 'needs_review',
    reviewReason: state.review?.reason ?? null,
    plan: plan === null ? null : planName(plan),
    priceId: plan?.priceId ?? null,
    mrrCents: countedMrrCents(standing, state),
    currency: state.currency,
    tags: tagsFor(state.lifecycle, standing, shown),
    owner,
    email: state.profile.email,
    firstName: state.profile.firstName,
    lastName: state.profile.lastName,
    phone: state.profile.phone,
    lastPayment:
      payment === null ? null : { amountCents: payment.amountCents, currency: payment.currency, at: payment.occurredAt, outcome: payment.outcome },
  };
}

function viewOf(doc: CrmContact): CrmContactView {
  const { version, lastCorrelationId, updatedAtPosition, tagHistory, ...view } = doc;
  return view;
}

// A full replay always has a contact by the time a review is resolved; start as a lead if not.
function previousStanding(doc: CrmContact | undefined): StandingLifecycle | null {
  return doc === undefined ? 'lead' : null;
}

function nextTagHistory(doc: CrmContact | undefined, view: CrmContactView, input: ProjectedEvent): TagChange[] {
  const history = doc?.tagHistory ?? [];
  const { add, remove } = tagDiff(doc?.tags ?? [], view.tags);
  if (add.length === 0 && remove.length === 0) return history;
  const change: TagChange = {
    position: input.position,
    correlationId: input.correlationId,
    cause: input.event.type,
    lifecycle: view.lifecycle,
    add,
    remove,
  };
  return [...history, change].slice(-TAG_HISTORY_LIMIT);
}
