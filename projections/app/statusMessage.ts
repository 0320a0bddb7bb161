import type { CustomerState } from '../../domain/customerState.ts';
import type { AccessGrant } from './entitlementAccess.ts';

// What the app tells the customer about their access, as a stable code (for the app to
// translate) and an English sentence (to show as is). Dates are the UTC calendar day.

export const STATUS_CODES = [
  'no_subscription',
  'payment_received',
  'trialing',
  'active',
  'payment_failed',
  'canceled',
  'refunded',
  'under_review',
] as const;
export type StatusCode = (typeof STATUS_CODES)[number];

export function statusOf(state: CustomerState, grant: AccessGrant): { statusCode: StatusCode; statusMessage: string } {
  switch (state.lifecycle) {
    case 'lead':
      // Money arrived but the subscription it is for has not (checkout before subscription
      // events, or a one-off charge): the app waits on the next version instead of a paywall.
      return paidSince(state)
        ? { statusCode: 'payment_received', statusMessage: 'We got your payment; finishing setup.' }
        : { statusCode: 'no_subscription', statusMessage: 'Start a trial or subscribe to get access.' };
    case 'trial':
      return {
        statusCode: 'trialing',
        statusMessage: state.trialEndsAt === null ? 'You are on a free trial.' : `Your trial ends on ${day(state.trialEndsAt)}.`,
      };
    case 'active':
      return { statusCode: 'active', statusMessage: 'Your subscription is active.' };
    case 'past_due':
      return {
        statusCode: 'payment_failed',
        statusMessage:
          grant.graceEndsAt === null
            ? 'Payment failed — update your card to keep access.'
            : `Payment failed — update your card by ${day(grant.graceEndsAt)} to keep access.`,
      };
    case 'canceled':
      return { statusCode: 'canceled', statusMessage: 'Access ended — your subscription was canceled.' };
    case 'refunded':
      return { statusCode: 'refunded', statusMessage: 'Access ended — your payment was refunded.' };
    case 'needs_review':
      return {
        statusCode: 'under_review',
        statusMessage:
          grant.access === 'none'
            ? 'Access is paused while we review your account; we will be in touch.'
            : 'We are reviewing your account; your access continues meanwhile.',
      };
    default: {
      const unhandled: never = state.lifecycle;
      throw new Error(`statusOf: unhandled lifecycle ${String(unhandled)}`);
    }
  }
}

function paidSince(state: CustomerState): boolean {
  const payment = state.lastPayment;
  if (payment === null || payment.outcome !== 'succeeded') return false;
  return state.since === null || Date.parse(payment.occurredAt) >= Date.parse(state.since);
}

const day = (iso: string): string => new Date(Date.parse(iso)).toISOString().slice(0, 10);
