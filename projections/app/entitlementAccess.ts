import type { ReviewReason } from '../../contracts/events/decisions.ts';
import type { CustomerState } from '../../domain/customerState.ts';

// Who may use the app. trial and active: full access. past_due: a grace period from the moment
// the customer fell past due (Stripe is still retrying the card). lead, canceled, refunded:
// none. needs_review follows the design's rule "never block a paid customer on a non-critical
// failure unless there is an explicit risk reason", by the review's reason:
//
// | review reason                  | access                                        |
// |--------------------------------|-----------------------------------------------|
// | dispute_opened                 | none: money is being clawed back (risk)       |
// | dispute_without_payment        | none: risk                                    |
// | refund_without_payment         | none: risk                                    |
// | payment_after_cancel           | full: the customer just paid                  |
// | canceled_subscription_resumed  | full: Stripe is billing them again            |
// | manual_review                  | unchanged: what they had when flagged         |
// | ambiguous_identity             | unchanged: a record question, not a risk      |

export type Access = 'full' | 'grace' | 'none';

export interface AccessGrant {
  access: Access;
  // Set while access is 'grace': access ends at this instant.
  graceEndsAt: string | null;
}

const DAY_MS = 24 * 60 * 60 * 1000;

const REVIEW_ACCESS: Record<ReviewReason, Access | 'unchanged'> = {
  dispute_opened: 'none',
  dispute_without_payment: 'none',
  refund_without_payment: 'none',
  payment_after_cancel: 'full',
  canceled_subscription_resumed: 'full',
  manual_review: 'unchanged',
  ambiguous_identity: 'unchanged',
};

export function accessOf(state: CustomerState, previous: AccessGrant | null, pastDueGraceDays: number): AccessGrant {
  switch (state.lifecycle) {
    case 'trial':
    case 'active':
      return { access: 'full', graceEndsAt: null };
    case 'past_due':
      return { access: 'grace', graceEndsAt: state.since === null ? null : addDays(state.since, pastDueGraceDays) };
    case 'lead':
    case 'canceled':
    case 'refunded':
      return { access: 'none', graceEndsAt: null };
    case 'needs_review': {
      // Between a ReviewResolved and its LifecycleChanged the reason is gone: keep what was.
      const access = state.review === null ? 'unchanged' : REVIEW_ACCESS[state.review.reason];
      if (access !== 'unchanged') return { access, graceEndsAt: null };
      return previous ?? { access: 'none', graceEndsAt: null };
    }
    default: {
      const unhandled: never = state.lifecycle;
      throw new Error(`accessOf: unhandled lifecycle ${String(unhandled)}`);
    }
  }
}

// What the API answers as hasAccess: the one time-dependent part of an entitlement, so the
// stored document stays a function of the events alone.
export function hasAccessAt(entitlement: AccessGrant, nowIso: string): boolean {
  switch (entitlement.access) {
    case 'full':
      return true;
    case 'grace':
      // An unknown end (no source time for the fall) errs toward the paying customer.
      return entitlement.graceEndsAt === null || Date.parse(nowIso) < Date.parse(entitlement.graceEndsAt);
    case 'none':
      return false;
    default: {
      const unhandled: never = entitlement.access;
      throw new Error(`hasAccessAt: unhandled access ${String(unhandled)}`);
    }
  }
}

function addDays(iso: string, days: number): string {
  return new Date(Date.parse(iso) + days * DAY_MS).toISOString();
}
