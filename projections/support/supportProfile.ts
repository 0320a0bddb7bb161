import type { ReviewReason } from '../../contracts/events/decisions.ts';
import type { LifecycleState } from '../../contracts/events/vocabulary.ts';
import type { CustomerState } from '../../domain/customerState.ts';
import { countedMrrCents, holdsPlan, planName, primaryPlan, standingOf } from '../customerView.ts';
import { alreadyApplied, byCodeUnits, jsonEqual, nextMeta, type DocMeta } from '../docChanges.ts';
import type { ReadModel } from '../projection.ts';
import { BILLING_STATUS_OF, route, type BillingStatus } from './billingRouting.ts';
import { applyTicketEvent, isClosed, isTicketEvent, type SupportTicket, type TicketFacts } from './supportTickets.ts';

// One support profile per customer, with its tickets: what a support-desk sync worker writes
// to Zendesk (or any desk), and what an agent sees beside a ticket.

export interface SupportOptions {
  // VIP when the counted MRR reaches this (LEDGER_VIP_MRR_CENTS).
  vipMrrCents: number;
}

export interface SupportProfileView {
  customerId: string;
  lifecycle: LifecycleState;
  billingStatus: BillingStatus;
  reviewReason: ReviewReason | null;
  plan: string | null;
  priceId: string | null;
  mrrCents: number | null;
  vip: boolean;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  // Sorted by ticketId.
  tickets: SupportTicket[];
}

export type SupportProfile = SupportProfileView & DocMeta;
export type SupportShared = Record<string, never>;

export const supportReadModel: ReadModel<SupportProfile, SupportShared, SupportOptions> = {
  name: 'support',
  initialShared: {},
  apply(doc, input, { options, shared }) {
    if (alreadyApplied(doc, input)) return { doc, shared };
    const customer = customerView(input.after, options);
    const previous = doc?.tickets ?? [];
    const event = input.event;
    const tickets = isTicketEvent(event)
      ? withTicket(previous, applyTicketEvent(previous.find((t) => t.ticketId === event.data.ticketId), event), customer)
      : previous;
    const view: SupportProfileView = { customerId: input.customerId, ...customer, tickets: rerouteOpen(tickets, customer) };
    if (doc !== undefined && jsonEqual(view, viewOf(doc))) return { doc, shared };
    return { doc: { ...view, ...nextMeta(doc, input) }, shared };
  },
};

type CustomerView = Omit<SupportProfileView, 'customerId' | 'tickets'>;

function customerView(state: CustomerState, options: SupportOptions): CustomerView {
  // Under review the customer is shown by the state flagged from; between a ReviewResolved and
  // its LifecycleChanged, as a lead would be (nothing held, nothing counted).
  const standing = standingOf(state) ?? 'lead';
  const plan = holdsPlan(standing) ? primaryPlan(state) : null;
  const mrrCents = countedMrrCents(standing, state);
  return {
    lifecycle: state.lifecycle,
    billingStatus: BILLING_STATUS_OF[state.lifecycle],
    reviewReason: state.review?.reason ?? null,
    plan: plan === null ? null : planName(plan),
    priceId: plan?.priceId ?? null,
    mrrCents,
    vip: mrrCents !== null && mrrCents > 0 && mrrCents >= options.vipMrrCents,
    email: state.profile.email,
    firstName: state.profile.firstName,
    lastName: state.profile.lastName,
  };
}

// The ticket an event touched is routed as of that event, closed or not.
function withTicket(tickets: SupportTicket[], facts: TicketFacts | null, customer: CustomerView): SupportTicket[] {
  if (facts === null) return tickets;
  const previous = tickets.find((t) => t.ticketId === facts.ticketId) ?? null;
  const routed: SupportTicket = { ...facts, ...routing(facts, customer, previous), priorityLabel: labelFor(customer) };
  return [...tickets.filter((t) => t.ticketId !== facts.ticketId), routed].sort((a, b) => byCodeUnits(a.ticketId, b.ticketId));
}

// Open tickets follow the customer (a customer falling past due pulls them into billing, a VIP
// gets the label); closed ones keep how they were handled.
function rerouteOpen(tickets: SupportTicket[], customer: CustomerView): SupportTicket[] {
  let changed = false;
  const next = tickets.map((ticket): SupportTicket => {
    if (isClosed(ticket.status)) return ticket;
    const { queue, routingReason } = routing(ticket, customer, ticket);
    const priorityLabel = labelFor(customer);
    if (queue === ticket.queue && routingReason === ticket.routingReason && priorityLabel === ticket.priorityLabel) return ticket;
    changed = true;
    return { ...ticket, queue, routingReason, priorityLabel };
  });
  return changed ? next : tickets;
}

const labelFor = (customer: CustomerView): SupportTicket['priorityLabel'] => (customer.vip ? 'vip' : null);

function routing(facts: TicketFacts, customer: CustomerView, previous: SupportTicket | null) {
  return route(facts.subject, facts.tags, customer.billingStatus, previous === null ? null : { queue: previous.queue, routingReason: previous.routingReason });
}

function viewOf(doc: SupportProfile): SupportProfileView {
  const { version, lastCorrelationId, updatedAtPosition, ...view } = doc;
  return view;
}
