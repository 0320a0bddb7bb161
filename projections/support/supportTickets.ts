import type { DomainEventOf } from '../../contracts/domainEvents.ts';
import type { TicketPriority, TicketStatus } from '../../contracts/events/vocabulary.ts';
import type { Routing } from './billingRouting.ts';

// A ticket as the desk last told us, judged by the desk's own time: Zendesk does not deliver
// in order, so an older event never overwrites a newer one, and a closed ticket reopens only
// for a ticket event newer than its close (a same-instant one loses to the close).

export type TicketEvent = DomainEventOf<'TicketOpened'> | DomainEventOf<'TicketUpdated'> | DomainEventOf<'TicketClosed'>;

export interface TicketFacts {
  ticketId: string;
  // Null while only updates without a subject have been seen (a ticket older than the ledger).
  subject: string | null;
  status: TicketStatus;
  // The desk's own priority; our VIP mark is `priorityLabel`, beside it.
  priority: TicketPriority | null;
  tags: string[];
  group: string | null;
  assigneeId: string | null;
  openedAt: string | null;
  updatedAt: string;
  closedAt: string | null;
}

export interface SupportTicket extends TicketFacts, Routing {
  priorityLabel: 'vip' | null;
}

export const isClosed = (status: TicketStatus): boolean => status === 'solved' || status === 'closed';

export function isTicketEvent(event: { type: string }): event is TicketEvent {
  return event.type === 'TicketOpened' || event.type === 'TicketUpdated' || event.type === 'TicketClosed';
}

// Null when the event is older than what the ticket already shows.
export function applyTicketEvent(ticket: TicketFacts | undefined, event: TicketEvent): TicketFacts | null {
  const at = event.data.occurredAt;
  if (ticket !== undefined) {
    if (Date.parse(at) < Date.parse(ticket.updatedAt)) return null;
    const closedAt = ticket.closedAt ?? ticket.updatedAt;
    if (isClosed(ticket.status) && event.type !== 'TicketClosed' && Date.parse(at) <= Date.parse(closedAt)) return null;
  }
  const next = facts(ticket, event);
  return { ...next, closedAt: closedAtAfter(ticket, next, event) };
}

// A close is dated by the event that closed the ticket; a later edit of a closed ticket (a tag,
// solved -> closed) keeps that date, so the reopen rule keeps comparing with the real close.
function closedAtAfter(ticket: TicketFacts | undefined, next: TicketFacts, event: TicketEvent): string | null {
  if (!isClosed(next.status)) return null;
  const wasClosed = ticket !== undefined && isClosed(ticket.status);
  return wasClosed && event.type !== 'TicketClosed' ? ticket.closedAt : event.data.occurredAt;
}

function facts(ticket: TicketFacts | undefined, event: TicketEvent): TicketFacts {
  const base: TicketFacts = ticket ?? {
    ticketId: event.data.ticketId,
    subject: null,
    status: 'open',
    priority: null,
    tags: [],
    group: null,
    assigneeId: null,
    openedAt: null,
    updatedAt: event.data.occurredAt,
    closedAt: null,
  };
  const updatedAt = event.data.occurredAt;
  switch (event.type) {
    case 'TicketOpened': {
      const { subject, status, priority, tags, group } = event.data;
      return { ...base, subject, status, priority: priority ?? base.priority, tags, group: group ?? base.group, openedAt: base.openedAt ?? updatedAt, updatedAt };
    }
    case 'TicketUpdated': {
      const { subject, status, priority, tags, group, assigneeId } = event.data;
      return {
        ...base,
        subject: subject ?? base.subject,
        status: status ?? base.status,
        priority: priority ?? base.priority,
        tags: tags ?? base.tags,
        group: group ?? base.group,
        assigneeId: assigneeId ?? base.assigneeId,
        updatedAt,
      };
    }
    case 'TicketClosed':
      return { ...base, status: event.data.status, updatedAt };
    default: {
      const unhandled: never = event;
      throw new Error(`applyTicketEvent: unhandled ${JSON.stringify(unhandled)}`);
    }
  }
}
