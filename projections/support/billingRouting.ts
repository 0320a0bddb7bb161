import type { LifecycleState } from '../../contracts/events/vocabulary.ts';

// Which queue a ticket belongs in. A billing issue goes to the billing queue: one the ticket
// names (tags or subject), or any ticket from a customer whose billing is in trouble.

export const BILLING_STATUSES = ['ok', 'past_due', 'canceled', 'refunded', 'needs_review'] as const;
export type BillingStatus = (typeof BILLING_STATUSES)[number];

export const BILLING_STATUS_OF: Record<LifecycleState, BillingStatus> = {
  lead: 'ok',
  trial: 'ok',
  active: 'ok',
  past_due: 'past_due',
  canceled: 'canceled',
  refunded: 'refunded',
  needs_review: 'needs_review',
};

// A canceled customer asking something is not by itself a billing matter; these are.
const BILLING_RISK: ReadonlySet<BillingStatus> = new Set(['past_due', 'refunded', 'needs_review']);

export type Queue = 'billing' | 'general';
export type RoutingReason = 'ticket_content' | 'billing_status' | null;
export interface Routing {
  queue: Queue;
  // Why a ticket is in the billing queue; null in the general queue.
  routingReason: RoutingReason;
}

// Whole words and their usual inflections, so "Charged twice" and a `refund_request` tag match
// but "discard" does not. English only: the desk's own triggers cover other languages.
const BILLING_WORD = /^(billing|billed|invoices?|invoiced|invoicing|refunds?|refunded|refunding|charges?|charged|charging|payments?|cards?)$/;

export function mentionsBilling(subject: string | null, tags: readonly string[]): boolean {
  return [subject ?? '', ...tags].some((text) => text.toLowerCase().split(/[^a-z0-9]+/).some((word) => BILLING_WORD.test(word)));
}

// Billing is sticky while a ticket lives: a customer who pays mid-conversation does not bounce
// the ticket back to the general queue under the agent's hands.
export function route(subject: string | null, tags: readonly string[], billingStatus: BillingStatus, previous: Routing | null): Routing {
  if (mentionsBilling(subject, tags)) return { queue: 'billing', routingReason: 'ticket_content' };
  if (BILLING_RISK.has(billingStatus)) return { queue: 'billing', routingReason: 'billing_status' };
  if (previous !== null && previous.queue === 'billing') return previous;
  return { queue: 'general', routingReason: null };
}
