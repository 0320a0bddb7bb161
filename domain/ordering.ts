import type { FactEvent } from '../contracts/domainEvents.ts';
import type { LifecycleState, SubscriptionStatus } from '../contracts/events/vocabulary.ts';
import { STATUS_MEANING, subscriptionIdOf } from './factGuards.ts';
import { PRECEDENCE } from './lifecycleTable.ts';

// Providers do not deliver in order (Stripe says so; Zendesk has meta.sequence for it), so
// every fact is judged against the last one applied for the same object: its ordering key.

export function orderingKey(fact: FactEvent): string {
  switch (fact.type) {
    case 'TrialStarted':
    case 'SubscriptionActivated':
    case 'SubscriptionChanged':
    case 'TrialWillEnd':
    case 'SubscriptionCanceled':
      return `subscription:${fact.data.subscriptionId}`;
    case 'PaymentSucceeded':
    case 'PaymentFailed': {
      const { subscriptionId, invoiceId, paymentIntentId, chargeId } = fact.data;
      if (subscriptionId !== undefined) return `subscription:${subscriptionId}`;
      if (invoiceId !== undefined) return `invoice:${invoiceId}`;
      if (paymentIntentId !== undefined) return `payment_intent:${paymentIntentId}`;
      return `charge:${chargeId ?? 'unknown'}`;
    }
    case 'RefundIssued':
    case 'DisputeOpened':
      return fact.data.subscriptionId !== undefined ? `subscription:${fact.data.subscriptionId}` : `charge:${fact.data.chargeId}`;
    case 'TicketOpened':
    case 'TicketUpdated':
    case 'TicketClosed':
      return `ticket:${fact.data.ticketId}`;
    case 'LeadCaptured':
    case 'CustomerProfileUpdated':
      return 'profile';
    case 'CrmPropertyChanged':
      return `crm:${fact.data.property}`;
    case 'IdentityLinked':
    case 'IdentityUnlinked':
      return `identity:${fact.data.kind}:${fact.data.externalId}`;
    case 'CustomerDeleted':
      return `deletion:${fact.data.deletedIn}`;
    default: {
      const unhandled: never = fact;
      throw new Error(`No ordering key for ${JSON.stringify(unhandled)}`);
    }
  }
}

export interface Watermark {
  // The source time of the newest fact applied for this object.
  occurredAt: string;
  // The customer as it was before the first fact of that instant. Every same-instant fact is
  // judged from here, not from wherever an earlier sibling left the customer: that is what
  // makes the outcome independent of arrival order.
  base: { lifecycle: LifecycleState; subscriptionId: string | null };
  // The highest-precedence state a fact of that instant led to; null while none moved the customer.
  winner: LifecycleState | null;
}

export type Arrival = 'newer' | 'tie' | 'stale';

// A fact about a subscription that began before the customer's current, live one (the old half
// of an upgrade, delivered late): history, recorded, and the table judges nothing from it,
// however it arrives. Without this, the old subscription's late "active" would take over the
// current one. It is still that subscription's newest word: if it is a plan held beside the
// current one, what the customer holds side by side decides (customerCommands.ts). Once the
// current subscription has ended, an older one's facts are no longer history: it may be a plan
// held beside it that still runs (domain/subscriptions.ts). Money (refunds, disputes) is never
// superseded.
export function isSuperseded(
  current: { subscriptionId: string | null; subscriptionSince?: string | null | undefined; subscriptionStatus: SubscriptionStatus | null },
  fact: FactEvent,
): boolean {
  const since = current.subscriptionSince;
  if (current.subscriptionId === null || since === null || since === undefined) return false;
  if (current.subscriptionStatus === null || STATUS_MEANING[current.subscriptionStatus] === 'canceled') return false;
  if (fact.type === 'RefundIssued' || fact.type === 'DisputeOpened') return false;
  const subscriptionId = subscriptionIdOf(fact);
  return subscriptionId !== undefined && subscriptionId !== current.subscriptionId && Date.parse(fact.data.occurredAt) < Date.parse(since);
}

// Compared as instants, not strings: "…:05Z" and "…:05.000+00:00" are the same second.
export function arrivalOf(watermark: Watermark | undefined, occurredAt: string): Arrival {
  if (watermark === undefined) return 'newer';
  const difference = Date.parse(occurredAt) - Date.parse(watermark.occurredAt);
  return difference > 0 ? 'newer' : difference === 0 ? 'tie' : 'stale';
}

// The tie rule. Stripe's `created` is whole seconds and one action emits several events in the
// same second, so a strict `<` would drop one of them, and "last delivered wins" would depend on
// delivery order. Instead a same-instant fact applies unless its outcome (judged from the base)
// has lower precedence than the instant's winner so far. The final state of an instant is then
// the highest-precedence outcome among its facts, whatever order they arrive in.
export function losesTie(watermark: Watermark, outcome: LifecycleState): boolean {
  return watermark.winner !== null && PRECEDENCE[outcome] < PRECEDENCE[watermark.winner];
}

// The facts that can move a customer's lifecycle (lifecycleTable.ts).
export const LIFECYCLE_FACTS: ReadonlySet<FactEvent['type']> = new Set([
  'TrialStarted',
  'SubscriptionActivated',
  'SubscriptionChanged',
  'TrialWillEnd',
  'SubscriptionCanceled',
  'PaymentSucceeded',
  'PaymentFailed',
  'RefundIssued',
  'DisputeOpened',
]);

const STATUS_RANK: Record<SubscriptionStatus, number> = {
  incomplete: 0,
  trialing: 0,
  active: 1,
  past_due: 5,
  unpaid: 5,
  paused: 8,
  canceled: 9,
  incomplete_expired: 9,
};

function rankOf(fact: FactEvent): number {
  switch (fact.type) {
    case 'TrialStarted': return 0;
    case 'SubscriptionActivated': return 1;
    case 'SubscriptionChanged': return STATUS_RANK[fact.data.status];
    case 'PaymentSucceeded': return 2;
    case 'TrialWillEnd': return 3;
    case 'PaymentFailed': return 4;
    case 'RefundIssued': return 6;
    case 'DisputeOpened': return 7;
    case 'SubscriptionCanceled': return 9;
    default: return 0;
  }
}

// Where a fact stands in source-time order, as a string that compares that way. Facts of one
// second need an order of their own, and either would be "in order", so one is chosen: a
// subscription's start, then money in, then its trouble, money back, and its end last, so that an
// upgrade (one subscription ended and the next begun in one second) reads as no gap. The ordering
// key and the invoice, charge or dispute only make the order total.
export function sourceOrderKey(fact: FactEvent): string {
  const at = String(Date.parse(fact.data.occurredAt)).padStart(16, '0');
  const data = fact.data as { invoiceId?: string; chargeId?: string; disputeId?: string; status?: string };
  return `${at}|${rankOf(fact)}|${orderingKey(fact)}|${data.invoiceId ?? data.chargeId ?? data.disputeId ?? data.status ?? ''}`;
}
