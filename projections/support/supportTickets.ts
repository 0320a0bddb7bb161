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
  // Closed by leaving the desk's queues (deleted, spam, merged); absent otherwise.
  removed?: 'deleted' | 'spam' | 'merged';
}

export interface SupportTicket extends TicketFacts, Routing {
  priorityLabel: 'vip' | null;
}

export const isClosed = (status: TicketStatus): boolean => status === 'solved' || status === 'closed';

export function isTicketEvent(event: { type: string }): event is TicketEvent {
  return event.type === 'TicketOpened' || event.type === 'TicketUpdated' || event.type === 'TicketClosed';
}

// Null when the event is older than what the ticket already shows and adds nothing to it.
export function applyTicketEvent(ticket: TicketFacts | undefined, event: TicketEvent): TicketFacts | null {
  const at = event.data.occurredAt;
  if (ticket !== undefined) {
    const closedAt = ticket.closedAt ?? ticket.updatedAt;
    const stale =
      Date.parse(at) < Date.parse(ticket.updatedAt) || (isClosed(ticket.status) && event.type !== 'TicketClosed' && Date.parse(at) <= Date.parse(closedAt));
    if (stale) return event.type === 'TicketOpened' ? openedLate(ticket, event) : null;
  }
  const next = facts(ticket, event);
  // Reopened (undeleted): no longer out of the queues.
  const { removed, ...reopened } = next;
  const current = removed !== undefined && !isClosed(next.status) ? reopened : next;
  return { ...current, closedAt: closedAtAfter(ticket, current, event) };
}

// The ticket's creation, delivered after newer changes (Zendesk does not order them): it still
// says what only it says — when it was opened, its subject — and fills what no newer change set,
// without overwriting the newer status or fields. Its tags fill an empty list: a close carries
// none, and the queue a ticket is routed to follows its tags (a newer update that emptied them
// is the rare loser).
function openedLate(ticket: TicketFacts, event: DomainEventOf<'TicketOpened'>): TicketFacts | null {
  const { subject, priority, group, tags, occurredAt } = event.data;
  const filled: TicketFacts = {
    ...ticket,
    openedAt: ticket.openedAt === null || Date.parse(occurredAt) < Date.parse(ticket.openedAt) ? occurredAt : ticket.openedAt,
    subject: ticket.subject ?? (subject === '' ? null : subject),
    priority: ticket.priority ?? priority ?? null,
    group: ticket.group ?? group ?? null,
    tags: ticket.tags.length === 0 && tags.length > 0 ? tags : ticket.tags,
  };
  const changed = (['openedAt', 'subject', 'priority', 'group', 'tags'] as const).some((field) => filled[field] !== ticket[field]);
  return changed ? filled : null;
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
    case 'TicketClosed': {
      const { removed: _was, ...rest } = base;
      return { ...rest, status: event.data.status, updatedAt, ...(event.data.removed ? { removed: event.data.removed } : {}) };
    }
    default: {
      const unhandled: never = event;
      throw new Error(`applyTicketEvent: unhandled ${JSON.stringify(unhandled)}`);
    }
  }
}
