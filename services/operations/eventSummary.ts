import type { DomainEvent } from '../../contracts/domainEvents.ts';
import type { Plan } from '../../contracts/events/common.ts';
import { isReviewWithdrawn, redatedText, REVIEW_WITHDRAWN } from '../../contracts/events/decisions.ts';

// One line per event for a terminal at 3 a.m.: what happened, with the ids an engineer greps
// for in Stripe, the CRM or the desk. Never a whole payload (it may hold personal data).

// Stripe's zero-decimal currencies: their minor unit is the unit.
const ZERO_DECIMAL = new Set(['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf']);

export const money = (cents: number, currency: string): string =>
  ZERO_DECIMAL.has(currency) ? `${cents} ${currency}` : `${(cents / 100).toFixed(2)} ${currency}`;

const planLabel = (plan: Plan): string => plan.nickname ?? plan.priceId;
const ref = (label: string, id: string | undefined): string => (id === undefined ? '' : ` ${label}${id}`);

export function summarize(event: DomainEvent): string {
  switch (event.type) {
    case 'LeadCaptured':
      return `lead${event.data.channel ? ` via ${event.data.channel}` : ''}${event.data.email ? ` <${event.data.email}>` : ''}`;
    case 'TrialStarted':
      return `trial on ${planLabel(event.data.plan)} ${event.data.subscriptionId}${event.data.trialEndsAt ? ` until ${event.data.trialEndsAt}` : ''}`;
    case 'SubscriptionActivated':
      return `subscribed to ${planLabel(event.data.plan)} ${event.data.subscriptionId}${mrr(event.data.mrrCents, event.data.currency)}`;
    case 'SubscriptionChanged':
      return `${event.data.subscriptionId} is ${event.data.status} on ${planLabel(event.data.plan)}${event.data.cancelAtPeriodEnd ? ', cancels at period end' : ''}`;
    case 'TrialWillEnd':
      return `trial of ${event.data.subscriptionId} ends ${event.data.trialEndsAt}`;
    case 'PaymentSucceeded':
      return `paid ${money(event.data.amountCents, event.data.currency)}${ref('', event.data.invoiceId ?? event.data.chargeId ?? event.data.paymentIntentId)}`;
    case 'PaymentFailed':
      return `payment of ${money(event.data.amountCents, event.data.currency)} failed${ref('', event.data.invoiceId ?? event.data.chargeId ?? event.data.paymentIntentId)}${
        event.data.attemptCount === undefined ? '' : ` (attempt ${event.data.attemptCount})`
      }${event.data.failureCode ? ` ${event.data.failureCode}` : ''}`;
    case 'SubscriptionCanceled':
      return `${event.data.subscriptionId} canceled${event.data.reason ? ` (${event.data.reason})` : ''}`;
    case 'RefundIssued':
      return `refunded ${money(event.data.refundedAmountCents, event.data.currency)} of ${money(event.data.chargeAmountCents, event.data.currency)} ${event.data.chargeId}`;
    case 'DisputeOpened':
      return `dispute ${event.data.disputeId} on ${event.data.chargeId} for ${money(event.data.amountCents, event.data.currency)}`;
    case 'TicketOpened':
      return `ticket ${event.data.ticketId} opened (${event.data.status}${event.data.priority ? `, ${event.data.priority}` : ''})`;
    case 'TicketUpdated': {
      const changed = (['status', 'priority', 'group', 'assigneeId', 'tags', 'subject'] as const).filter((field) => event.data[field] !== undefined);
      return `ticket ${event.data.ticketId} updated${event.data.status ? ` to ${event.data.status}` : ''}${changed.length ? ` [${changed.join(', ')}]` : ''}`;
    }
    case 'TicketClosed':
      return `ticket ${event.data.ticketId} ${event.data.status}`;
    case 'IdentityLinked':
      return `linked ${event.data.kind}:${event.data.externalId}`;
    case 'IdentityUnlinked':
      return `unlinked ${event.data.kind}:${event.data.externalId}${event.data.reason ? ` (${event.data.reason})` : ''}`;
    case 'CustomerProfileUpdated': {
      const fields = (['email', 'firstName', 'lastName', 'phone'] as const).filter((field) => event.data[field] !== undefined);
      return `profile: ${fields.join(', ')}`;
    }
    case 'CrmPropertyChanged':
      return `crm ${event.data.property} = ${event.data.value ?? '(cleared)'}`;
    case 'CustomerDeleted':
      return `deleted in ${event.data.deletedIn}`;
    case 'LifecycleChanged':
      return `${event.data.from} → ${event.data.to} (${isReviewWithdrawn(event.data) ? REVIEW_WITHDRAWN : event.data.cause.type})`;
    case 'FlaggedForReview':
      return `${event.data.from} → needs_review: ${event.data.reason} (${event.data.cause.type})`;
    case 'ManualOverrideApplied':
      return `override ${event.data.action}${event.data.to ? ` → ${event.data.to}` : ''} by ${event.data.actor.id} (${event.data.actor.role}): ${event.data.reason}`;
    case 'ReviewResolved':
      return `review ${event.data.reviewReason} resolved → ${event.data.to} by ${event.data.actor.id}`;
    case 'LifecycleRedated':
      return redatedText(event.data);
    default: {
      const unhandled: never = event;
      return JSON.stringify(unhandled).slice(0, 80);
    }
  }
}

function mrr(cents: number | undefined, currency: string | undefined): string {
  return cents === undefined || currency === undefined ? '' : `, ${money(cents, currency)}/mo`;
}
