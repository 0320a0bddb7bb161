import { domainEvent, type FactEvent } from '../../../contracts/domainEvents.ts';
import { TICKET_PRIORITIES, TICKET_STATUSES, type TicketPriority, type TicketStatus } from '../../../contracts/events/vocabulary.ts';
import { emailIdentityId, isEmailAddress } from '../../../contracts/inbound/emailAddress.ts';
import { changedIdentityKindOf, currentStatusOf, type ZendeskEvent } from '../../../contracts/inbound/zendesk.ts';
import { LedgerError } from '../../../domain/errors.ts';
import type { IdentityClaim } from '../../eventstore/port.ts';
import type { Translation } from '../webhookSource.ts';

// Zendesk event -> at most one fact. Pure: no clock, no I/O.

const TICKET_EVENT = 'zen:event-type:ticket.';
// `ticket.undeleted` is an update: the snapshot's status reopens it.
const REMOVALS = new Map<string, 'deleted' | 'spam' | 'merged'>([
  ['soft_deleted', 'deleted'],
  ['permanently_deleted', 'deleted'],
  ['marked_as_spam', 'spam'],
  ['merged', 'merged'],
]);
const USER_EVENT = 'zen:event-type:user.';

export function translateZendeskEvent(event: ZendeskEvent): Translation {
  if (event.type.startsWith(TICKET_EVENT)) return ticketFact(event, event.type.slice(TICKET_EVENT.length));
  if (event.type.startsWith(USER_EVENT)) return userFact(event, event.type.slice(USER_EVENT.length));
  return ignored(event, `unsupported event type ${event.type}`);
}

const ignored = (event: ZendeskEvent, reason: string): Translation => ({ facts: [], ignored: [{ sourceEventId: event.id, reason }] });

const recorded = (event: ZendeskEvent, identities: IdentityClaim[], createIfMissing: boolean, fact: FactEvent): Translation => ({
  facts: [{ sourceEventId: event.id, sourceType: event.type, identities, createIfMissing, fact }],
  ignored: [],
});

// Zendesk does not deliver in order, so each fact carries the time of the change itself: the
// ticket's ordering key then keeps a late, older update from undoing a newer one.
function occurredAtOf(event: ZendeskEvent): string {
  const occurredAt = event.time ?? event.detail.updated_at;
  // The contract requires one of them; this only satisfies the type checker.
  if (occurredAt == null) throw new LedgerError('LEDGER_VALIDATION', 'time: Required', { errors: [{ path: 'time', message: 'Required' }] });
  return occurredAt;
}

// Tickets belong to their requester: a ticket event without one names nobody, and is kept in the
// inbox (acknowledged, counted) rather than parked on a customer it may not be about.
function ticketFact(event: ZendeskEvent, change: string): Translation {
  const { detail } = event;
  if (detail.requester_id == null) return ignored(event, 'no requester');
  const ticketId = detail.id ?? /^zen:ticket:(\d+)$/.exec(event.subject ?? '')?.[1];
  if (ticketId == null) return ignored(event, 'no ticket id');

  const occurredAt = occurredAtOf(event);
  const identities = requesterIdentities(detail.requester_id, detail.requester_email);
  const status = ticketStatusOf(detail.status ?? currentStatusOf(event.event));
  const priority = ticketPriorityOf(detail.priority);
  const subject = detail.subject ?? undefined;
  const tags = detail.tags ?? undefined;
  const group = detail.group_id ?? undefined;

  // A ticket from somebody we do not know yet makes them known: the desk is one of the doors.
  if (change === 'created') {
    const via = detail.via?.channel ?? undefined;
    return recorded(
      event,
      identities,
      true,
      domainEvent('TicketOpened', {
        occurredAt,
        ticketId,
        // A trigger body may leave the subject out; the fact still says a ticket was opened.
        subject: subject ?? '',
        status: status ?? 'new',
        ...(priority ? { priority } : {}),
        ...(via ? { via } : {}),
        tags: tags ?? [],
        ...(group ? { group } : {}),
      }),
    );
  }
  if (change === 'status_changed' && (status === 'solved' || status === 'closed')) {
    return recorded(event, identities, true, domainEvent('TicketClosed', { occurredAt, ticketId, status }));
  }
  // The ticket left the queues: its snapshot still says "open", and as an update it stayed open
  // on the customer for ever. It invents nobody: from a requester not known yet it waits for
  // the ticket's creation (unmatched), so a spam ticket never becomes a customer on its own.
  const removed = REMOVALS.get(change);
  if (removed !== undefined) {
    return recorded(event, identities, false, domainEvent('TicketClosed', { occurredAt, ticketId, status: 'closed', removed }));
  }
  // Any other change: the ticket's fields as they stand after it (the detail is a snapshot).
  const assigneeId = detail.assignee_id ?? undefined;
  return recorded(
    event,
    identities,
    true,
    domainEvent('TicketUpdated', {
      occurredAt,
      ticketId,
      ...(subject !== undefined ? { subject } : {}),
      ...(status ? { status } : {}),
      ...(priority ? { priority } : {}),
      ...(tags ? { tags } : {}),
      ...(group ? { group } : {}),
      ...(assigneeId ? { assigneeId } : {}),
    }),
  );
}

function requesterIdentities(requesterId: string, email: string | null | undefined): IdentityClaim[] {
  const requester: IdentityClaim = { kind: 'support', externalId: requesterId };
  return email != null && isEmailAddress(email) ? [requester, { kind: 'email', externalId: emailIdentityId(email) }] : [requester];
}

// The desk spells statuses and priorities in capitals in event webhooks ("OPEN") and in title
// case in some trigger bodies ("Open"); the ledger's vocabulary is lower case. A custom status
// name that is none of Zendesk's built-in ones is left out rather than guessed.
function ticketStatusOf(value: string | null | undefined): TicketStatus | undefined {
  const lower = value?.trim().toLowerCase();
  return TICKET_STATUSES.find((status) => status === lower);
}

function ticketPriorityOf(value: string | null | undefined): TicketPriority | undefined {
  const lower = value?.trim().toLowerCase();
  return TICKET_PRIORITIES.find((priority) => priority === lower);
}

// User events matter only where they tie a desk user to a person: a new user or an e-mail
// identity change carries the user's primary e-mail, which links the requester id to a customer
// already known by that address. They never create a customer (an agent or a user who never
// wrote in is nobody's customer), and other user changes are not the ledger's business.
function userFact(event: ZendeskEvent, change: string): Translation {
  const { detail } = event;
  if (detail.id == null) return ignored(event, 'no user id');
  if (detail.role != null && detail.role !== 'end-user') return ignored(event, `user role ${detail.role}`);
  const user: IdentityClaim = { kind: 'support', externalId: detail.id };

  switch (change) {
    case 'deleted':
      return recorded(event, [user], false, domainEvent('CustomerDeleted', { occurredAt: occurredAtOf(event), deletedIn: 'support' }));
    case 'created':
    case 'identity_created':
    case 'identity_changed': {
      const kind = changedIdentityKindOf(event.event);
      if (kind !== undefined && kind !== 'email') return ignored(event, `identity change of kind ${kind}`);
      if (detail.email == null || !isEmailAddress(detail.email)) return ignored(event, 'no valid e-mail');
      const email = detail.email.trim();
      return recorded(
        event,
        [user, { kind: 'email', externalId: emailIdentityId(email) }],
        false,
        domainEvent('CustomerProfileUpdated', { occurredAt: occurredAtOf(event), email }),
      );
    }
    default:
      return ignored(event, `user.${change} carries no e-mail change`);
  }
}
