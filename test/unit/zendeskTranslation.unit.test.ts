import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { LedgerError } from '../../domain/errors.ts';
import { createZendeskSource } from '../../services/ingest/support/zendeskSource.ts';
import { providerFixtureUrl } from '../support/providerFixtures.ts';

const fixture = (name: string) => readFileSync(providerFixtureUrl('support', name));
const source = createZendeskSource('unused-here');
const translate = (body: Buffer | string | object) =>
  source.translate(source.parse(Buffer.from(typeof body === 'object' && !Buffer.isBuffer(body) ? JSON.stringify(body) : body)));

// A ticket event as Zendesk's event webhooks send it: ids as strings, statuses in capitals.
const ticketEvent = (type: string, detail: Record<string, unknown>, event: unknown = {}, time = '2026-03-02T09:00:00.123456789Z') => ({
  type: `zen:event-type:ticket.${type}`,
  account_id: 22129848,
  id: `evt-${type}`,
  time,
  zendesk_event_version: '2022-11-06',
  subject: 'zen:ticket:5158',
  detail: {
    id: '5158',
    requester_id: '8447388090494',
    subject: 'Charged twice',
    status: 'OPEN',
    priority: 'HIGH',
    tags: ['billing'],
    group_id: '8447320466430',
    assignee_id: '8447388090111',
    via: { channel: 'web_service' },
    created_at: '2026-03-02T08:00:00Z',
    updated_at: '2026-03-02T09:00:00Z',
    ...detail,
  },
  event,
});

describe('Zendesk events -> facts', () => {
  test('the real ticket.created example has no requester: acknowledged as ignored, never guessed onto a customer', () => {
    const { facts, ignored } = translate(fixture('ticket.created.json'));
    assert.deepEqual(facts, []);
    assert.deepEqual(ignored, [{ sourceEventId: '01HNXXXX-CTEXAMPLE', reason: 'no requester' }]);
  });

  test('the same example with a requester opens a ticket, status normalised to lower case', () => {
    const body = JSON.parse(fixture('ticket.created.json').toString()) as { detail: Record<string, unknown> };
    body.detail.requester_id = 20978392;
    const { facts } = translate(body);
    assert.deepEqual(facts, [
      {
        sourceEventId: '01HNXXXX-CTEXAMPLE',
        sourceType: 'zen:event-type:ticket.created',
        identities: [{ kind: 'support', externalId: '20978392' }],
        createIfMissing: true,
        fact: {
          type: 'TicketOpened',
          schemaVersion: 1,
          data: { occurredAt: '2024-04-17T17:18:10Z', ticketId: '35436', subject: '', status: 'open', via: 'web', tags: [] },
        },
      },
    ]);
  });

  test('ticket.created carries subject, priority, tags and group when present; the requester email joins the identities', () => {
    const { facts } = translate(ticketEvent('created', { status: 'NEW', requester_email: 'Ana.Lima@Example.com' }));
    assert.deepEqual(facts[0]?.identities, [
      { kind: 'support', externalId: '8447388090494' },
      { kind: 'email', externalId: 'ana.lima@example.com' },
    ]);
    assert.deepEqual(facts[0]?.fact.data, {
      occurredAt: '2026-03-02T09:00:00.123456789Z',
      ticketId: '5158',
      subject: 'Charged twice',
      status: 'new',
      priority: 'high',
      via: 'web_service',
      tags: ['billing'],
      group: '8447320466430',
    });
  });

  test('a status change to solved or closed closes the ticket; to another status it updates it', () => {
    const solved = translate(ticketEvent('status_changed', { status: 'SOLVED' }, { current: 'SOLVED', previous: 'OPEN' }));
    assert.deepEqual(solved.facts[0]?.fact, {
      type: 'TicketClosed',
      schemaVersion: 1,
      data: { occurredAt: '2026-03-02T09:00:00.123456789Z', ticketId: '5158', status: 'solved' },
    });
    const closed = translate(ticketEvent('status_changed', { status: 'Closed' }));
    assert.equal(closed.facts[0]?.fact.type, 'TicketClosed');
    const pending = translate(ticketEvent('status_changed', { status: 'PENDING' }, { current: 'PENDING', previous: 'OPEN' }));
    assert.equal(pending.facts[0]?.fact.type, 'TicketUpdated');
    assert.equal((pending.facts[0]?.fact.data as { status?: string }).status, 'pending');
  });

  test('a ticket deleted, marked as spam or merged is closed as removed (its snapshot still says open), and never invents its requester', () => {
    for (const [change, removed] of [['soft_deleted', 'deleted'], ['permanently_deleted', 'deleted'], ['marked_as_spam', 'spam'], ['merged', 'merged']] as const) {
      const { facts } = translate(ticketEvent(change, {}));
      assert.deepEqual(facts[0]?.fact.data, { occurredAt: '2026-03-02T09:00:00.123456789Z', ticketId: '5158', status: 'closed', removed }, change);
      assert.equal(facts[0]?.createIfMissing, false, change);
    }
    // Undeleted: an update, whose snapshot status reopens it.
    assert.equal(translate(ticketEvent('undeleted', {})).facts[0]?.fact.type, 'TicketUpdated');
    // A change named like an object's property is an update like any other.
    assert.equal(translate(ticketEvent('constructor', {})).facts[0]?.fact.type, 'TicketUpdated');
  });

  test('other ticket changes are updates carrying the ticket as it stands; a custom status is left out, not guessed', () => {
    const { facts } = translate(ticketEvent('priority_changed', { priority: 'URGENT', status: 'Waiting on vendor' }, { current: 'URGENT', previous: 'HIGH' }));
    assert.deepEqual(facts[0]?.fact, {
      type: 'TicketUpdated',
      schemaVersion: 1,
      data: {
        occurredAt: '2026-03-02T09:00:00.123456789Z',
        ticketId: '5158',
        subject: 'Charged twice',
        priority: 'urgent',
        tags: ['billing'],
        group: '8447320466430',
        assigneeId: '8447388090111',
      },
    });
  });

  test('occurredAt is the event time, else the ticket\'s updated_at; the event id is the dedup key', () => {
    const withoutTime = { ...ticketEvent('tags_changed', {}), time: undefined };
    const { facts } = translate(withoutTime);
    assert.equal(facts[0]?.fact.data.occurredAt, '2026-03-02T09:00:00Z');
    assert.equal(facts[0]?.sourceEventId, 'evt-tags_changed');
    assert.throws(
      () => translate({ ...withoutTime, detail: { ...withoutTime.detail, updated_at: undefined } }),
      (e: unknown) => e instanceof LedgerError && e.code === 'LEDGER_VALIDATION' && e.message.startsWith('time'),
    );
  });

  test('user.active_changed (Zendesk docs example) is ignored', () => {
    const { facts, ignored } = translate(fixture('user.active_changed.json'));
    assert.deepEqual(facts, []);
    assert.deepEqual(ignored, [{ sourceEventId: '2b24ef10-19d4-4740-93cf-8f98ec4776c0', reason: 'user.active_changed carries no e-mail change' }]);
  });

  test('an end-user\'s e-mail identity change is a profile update that links the desk user to that address, never a new customer', () => {
    const body = JSON.parse(fixture('user.active_changed.json').toString()) as Record<string, unknown> & { detail: Record<string, unknown> };
    const changed = {
      ...body,
      type: 'zen:event-type:user.identity_changed',
      detail: { ...body.detail, email: 'new.address@example.com' },
      event: { current: { id: '1', type: 'email', value: 'new.address@example.com', primary: true } },
    };
    assert.deepEqual(translate(changed).facts, [
      {
        sourceEventId: '2b24ef10-19d4-4740-93cf-8f98ec4776c0',
        sourceType: 'zen:event-type:user.identity_changed',
        identities: [
          { kind: 'support', externalId: '6596848315901' },
          { kind: 'email', externalId: 'new.address@example.com' },
        ],
        createIfMissing: false,
        fact: { type: 'CustomerProfileUpdated', schemaVersion: 1, data: { occurredAt: '2099-07-04T05:33:18Z', email: 'new.address@example.com' } },
      },
    ]);
    // A phone identity, an agent, or the docs' obfuscated address: nothing to record.
    assert.equal(translate({ ...changed, event: { current: { type: 'phone_number', value: '+1' } } }).facts.length, 0);
    assert.equal(translate({ ...changed, detail: { ...changed.detail, role: 'agent' } }).facts.length, 0);
    assert.equal(translate({ ...changed, detail: body.detail }).facts.length, 0);
  });

  test('a deleted desk user is a deletion in support, which never creates the customer', () => {
    const body = JSON.parse(fixture('user.active_changed.json').toString()) as Record<string, unknown>;
    const [fact] = translate({ ...body, type: 'zen:event-type:user.deleted', event: {} }).facts;
    assert.equal(fact?.createIfMissing, false);
    assert.deepEqual(fact?.identities, [{ kind: 'support', externalId: '6596848315901' }]);
    assert.deepEqual(fact?.fact, { type: 'CustomerDeleted', schemaVersion: 1, data: { occurredAt: '2099-07-04T05:33:18Z', deletedIn: 'support' } });
  });

  test('events of other domains are ignored', () => {
    const { ignored } = translate({ type: 'zen:event-type:organization.created', id: 'o1', time: '2026-03-02T09:00:00Z', detail: {} });
    assert.deepEqual(ignored, [{ sourceEventId: 'o1', reason: 'unsupported event type zen:event-type:organization.created' }]);
  });
});
