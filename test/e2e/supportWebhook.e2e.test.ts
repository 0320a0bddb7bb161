import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { streamIdOf } from '../../services/commands/customerIds.ts';
import { loadCustomer } from '../../services/commands/loadCustomer.ts';
import { databaseTargets } from '../support/databases.ts';
import { providerFixtureUrl } from '../support/providerFixtures.ts';
import { startTestApp, type TestApp } from '../support/testApp.ts';
import { hubspotHeaders, zendeskHeaders, type DeliveryBody } from '../support/webhookSigning.ts';

// POST /webhooks/support end to end: Zendesk-signed deliveries, signed here exactly as Zendesk
// signs them, against PGlite and Postgres. The CRM webhook stands in for "a customer the ledger
// already knows by e-mail".

const fixture = (name: string) => readFileSync(providerFixtureUrl('support', name));

// A ticket event as Zendesk's event webhooks send it.
const ticketEvent = (id: string, type: string, time: string, detail: Record<string, unknown>, event: unknown = {}) =>
  JSON.stringify({
    type: `zen:event-type:ticket.${type}`,
    account_id: 22129848,
    id,
    time,
    zendesk_event_version: '2022-11-06',
    subject: `zen:ticket:${String(detail.id)}`,
    detail: { subject: 'Charged twice', status: 'OPEN', priority: 'NORMAL', tags: [], via: { channel: 'web' }, updated_at: time, ...detail },
    event,
  });

for (const target of databaseTargets) {
  describe(`POST /webhooks/support on ${target.name}`, async () => {
    const skip = await target.skip();
    let ledger: TestApp;
    const clock = new Date('2026-03-02T10:00:00.000Z');

    before(async () => {
      if (!skip) ledger = await startTestApp(target, { now: () => clock });
    });
    after(async () => {
      if (ledger) await ledger.close();
    });

    const deliver = (body: string | Buffer, headers = zendeskHeaders(body, clock)) =>
      ledger.app.inject({ method: 'POST', url: '/webhooks/support', headers, payload: body });
    const count = async (table: 'ledger_events' | 'ledger_inbox') =>
      (await ledger.db.sql.query<{ n: number }>(`select count(*)::int as n from ${table}`)).rows[0]!.n;
    const inboxOutcome = async (inboxId: string) =>
      (await ledger.db.sql.query<{ outcome: string }>('select outcome from ledger_inbox where id = $1::bigint', [inboxId])).rows[0]?.outcome;
    const factsOf = async (customerId: string) => (await ledger.db.store.readStream(streamIdOf(customerId))).map((e) => [e.type, e.data]);
    const bodyOf = (response: LightMyRequestResponse) => response.json<DeliveryBody>();

    // A customer the CRM created, with an e-mail address.
    async function crmContactWithEmail(objectId: number, email: string): Promise<string> {
      const at = (eventId: number) => ({ eventId, subscriptionId: 1, portalId: 2, occurredAt: 1772440000000 + eventId, objectId });
      const body = JSON.stringify([
        { ...at(1), subscriptionType: 'contact.creation' },
        { ...at(2), subscriptionType: 'contact.propertyChange', propertyName: 'email', propertyValue: email },
      ]);
      const response = await ledger.app.inject({ method: 'POST', url: '/webhooks/crm', headers: hubspotHeaders(body, clock), payload: body });
      assert.equal(response.statusCode, 200, response.body);
      return bodyOf(response).facts[0]!.customerId!;
    }

    test('the real ticket.created example names no requester: 2xx, ignored, kept in the inbox, on no stream', { skip }, async () => {
      const eventsBefore = await count('ledger_events');
      const response = await deliver(fixture('ticket.created.json'));
      assert.equal(response.statusCode, 200, response.body);
      assert.deepEqual(bodyOf(response).ignored, [{ sourceEventId: '01HNXXXX-CTEXAMPLE', reason: 'no requester' }]);
      assert.deepEqual(bodyOf(response).facts, []);
      assert.equal(await count('ledger_events'), eventsBefore);
      assert.equal(await inboxOutcome(bodyOf(response).inboxId), 'ignored');
    });

    test('user.active_changed (docs example) is acknowledged and ignored', { skip }, async () => {
      const response = await deliver(fixture('user.active_changed.json'));
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(bodyOf(response).ignored[0]?.reason, 'user.active_changed carries no e-mail change');
      assert.equal(await inboxOutcome(bodyOf(response).inboxId), 'ignored');
    });

    test('the ticket.created example with a requester opens a ticket on the requester\'s customer', { skip }, async () => {
      const body = JSON.parse(fixture('ticket.created.json').toString()) as { id: string; detail: Record<string, unknown> };
      body.id = '01HNXXXX-WITH-REQUESTER';
      body.detail.requester_id = '20978392';
      const response = await deliver(JSON.stringify(body));
      assert.equal(response.statusCode, 200, response.body);
      const [fact] = bodyOf(response).facts;
      assert.equal(fact?.outcome, 'appended');
      assert.deepEqual(await factsOf(fact!.customerId!), [
        ['IdentityLinked', { occurredAt: '2024-04-17T17:18:10Z', kind: 'support', externalId: '20978392' }],
        ['TicketOpened', { occurredAt: '2024-04-17T17:18:10Z', ticketId: '35436', subject: '', status: 'open', via: 'web', tags: [] }],
      ]);
    });

    test('a ticket whose requester e-mail the CRM already knows lands on that customer', { skip }, async () => {
      const customerId = await crmContactWithEmail(5001, 'ana.lima@example.com');
      const body = ticketEvent('evt-ana-1', 'created', '2026-03-02T09:00:00Z', {
        id: '7001',
        requester_id: '8447388090494',
        requester_email: 'Ana.Lima@Example.com',
        priority: 'HIGH',
        tags: ['billing'],
        group_id: '360001',
      });
      const response = await deliver(body);
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(bodyOf(response).facts[0]?.customerId, customerId);
      assert.deepEqual((await factsOf(customerId)).slice(-2), [
        ['IdentityLinked', { occurredAt: '2026-03-02T09:00:00Z', kind: 'support', externalId: '8447388090494' }],
        [
          'TicketOpened',
          { occurredAt: '2026-03-02T09:00:00Z', ticketId: '7001', subject: 'Charged twice', status: 'open', priority: 'high', via: 'web', tags: ['billing'], group: '360001' },
        ],
      ]);
    });

    test('a desk user created with a known e-mail links the requester id, so later tickets find the customer by id alone', { skip }, async () => {
      const customerId = await crmContactWithEmail(5002, 'bo@example.com');
      const user = JSON.parse(fixture('user.active_changed.json').toString()) as Record<string, unknown> & { detail: Record<string, unknown> };
      const created = JSON.stringify({
        ...user,
        id: 'evt-user-bo',
        type: 'zen:event-type:user.created',
        time: '2026-03-02T08:00:00Z',
        detail: { ...user.detail, id: '6600001', email: 'Bo@Example.com' },
        event: {},
      });
      const linked = await deliver(created);
      assert.equal(linked.statusCode, 200, linked.body);
      assert.equal(bodyOf(linked).facts[0]?.customerId, customerId);

      const ticket = await deliver(ticketEvent('evt-bo-1', 'created', '2026-03-02T09:00:00Z', { id: '7002', requester_id: '6600001' }));
      assert.equal(bodyOf(ticket).facts[0]?.customerId, customerId);
      assert.deepEqual((await loadCustomer(ledger.db.store, customerId)).state.openTicketIds, ['7002']);
    });

    test('a closed ticket is not reopened by a late, older "open" update; both facts are kept with their times', { skip }, async () => {
      const requester = { id: '7003', requester_id: '8800001' };
      const opened = await deliver(ticketEvent('evt-t3-open', 'created', '2026-03-02T09:00:00Z', { ...requester, status: 'NEW' }));
      const customerId = bodyOf(opened).facts[0]!.customerId!;
      const solved = await deliver(
        ticketEvent('evt-t3-solved', 'status_changed', '2026-03-02T09:30:00Z', { ...requester, status: 'SOLVED' }, { current: 'SOLVED', previous: 'OPEN' }),
      );
      assert.equal(bodyOf(solved).facts[0]?.outcome, 'appended');
      // Sent at 09:10, delivered after the 09:30 solve: Zendesk does not guarantee order.
      const late = await deliver(
        ticketEvent('evt-t3-late-open', 'status_changed', '2026-03-02T09:10:00Z', { ...requester, status: 'OPEN' }, { current: 'OPEN', previous: 'NEW' }),
      );
      assert.equal(bodyOf(late).facts[0]?.outcome, 'appended');

      const facts = (await factsOf(customerId)).filter(([type]) => String(type).startsWith('Ticket'));
      assert.deepEqual(facts, [
        [
          'TicketOpened',
          { occurredAt: '2026-03-02T09:00:00Z', ticketId: '7003', subject: 'Charged twice', status: 'new', priority: 'normal', via: 'web', tags: [] },
        ],
        ['TicketClosed', { occurredAt: '2026-03-02T09:30:00Z', ticketId: '7003', status: 'solved' }],
        [
          'TicketUpdated',
          { occurredAt: '2026-03-02T09:10:00Z', ticketId: '7003', subject: 'Charged twice', status: 'open', priority: 'normal', tags: [] },
        ],
      ]);
      assert.deepEqual((await loadCustomer(ledger.db.store, customerId)).state.openTicketIds, []);
    });

    test('a ticket deleted or marked as spam leaves the customer\'s open tickets; spam from a requester nobody knows invents no customer', { skip }, async () => {
      const requester = { id: '7010', requester_id: '8800010' };
      const opened = await deliver(ticketEvent('evt-t10-open', 'created', '2026-03-02T09:00:00Z', requester));
      const customerId = bodyOf(opened).facts[0]!.customerId!;
      assert.deepEqual((await loadCustomer(ledger.db.store, customerId)).state.openTicketIds, ['7010']);
      // The snapshot of a deleted ticket still says OPEN.
      const deleted = await deliver(ticketEvent('evt-t10-deleted', 'soft_deleted', '2026-03-02T09:05:00Z', { ...requester, status: 'OPEN' }));
      assert.equal(bodyOf(deleted).facts[0]?.outcome, 'appended', deleted.body);
      assert.deepEqual((await loadCustomer(ledger.db.store, customerId)).state.openTicketIds, []);

      const streamsBefore = await count('ledger_events');
      const spam = await deliver(ticketEvent('evt-t11-spam', 'marked_as_spam', '2026-03-02T09:06:00Z', { id: '7011', requester_id: '8800011', status: 'OPEN' }));
      assert.equal(spam.statusCode, 200, spam.body);
      assert.equal(bodyOf(spam).facts[0]?.outcome, 'unmatched');
      assert.equal(await count('ledger_events'), streamsBefore);
    });

    test('a redelivered event (same id) appends nothing', { skip }, async () => {
      const body = ticketEvent('evt-t4', 'created', '2026-03-02T09:00:00Z', { id: '7004', requester_id: '8800002' });
      const first = await deliver(body);
      assert.equal(bodyOf(first).facts[0]?.outcome, 'appended');
      const eventsBefore = await count('ledger_events');
      const again = await deliver(body);
      assert.equal(again.statusCode, 200);
      assert.deepEqual(bodyOf(again).facts.map((f) => [f.outcome, f.customerId]), [['duplicate', bodyOf(first).facts[0]?.customerId]]);
      assert.equal(await count('ledger_events'), eventsBefore);
    });

    test('another event under an id already recorded (a copied test payload): 422, nothing appended or kept', { skip }, async () => {
      const created = ticketEvent('evt-t5', 'created', '2026-03-02T09:00:00Z', { id: '7005', requester_id: '8800003' });
      assert.equal(bodyOf(await deliver(created)).facts[0]?.outcome, 'appended');
      const events = await count('ledger_events');
      const kept = await count('ledger_inbox');
      const solved = await deliver(ticketEvent('evt-t5', 'status_changed', '2026-03-02T09:30:00Z', { id: '7005', requester_id: '8800003', status: 'SOLVED' }));
      assert.equal(solved.statusCode, 422, solved.body);
      assert.equal(solved.json().code, 'LEDGER_EVENT_ID_REUSED');
      assert.match(solved.json().detail, /^support event evt-t5 is recorded as zen:event-type:ticket\.created; this delivery is zen:event-type:ticket\.status_changed\./);
      assert.equal(await count('ledger_events'), events);
      assert.equal(await count('ledger_inbox'), kept);
    });

    describe('rejected deliveries: 4xx, problem+json with a LEDGER_* code, nothing appended, nothing in the inbox', () => {
      const body = ticketEvent('evt-rejected', 'created', '2026-03-02T09:00:00Z', { id: '7999', requester_id: '8899999' });
      const without = (name: string) => {
        const headers = zendeskHeaders(body, clock);
        delete headers[name];
        return { payload: body, headers };
      };
      const cases: { name: string; status: number; code: string; send: () => { payload: string; headers: Record<string, string> } }[] = [
        {
          name: 'forged signature (the docs example signature)',
          status: 400,
          code: 'LEDGER_SIGNATURE_INVALID',
          send: () => ({
            payload: body,
            headers: { ...zendeskHeaders(body, clock), 'x-zendesk-webhook-signature': 'wxL5Lkx5pktp+TKZyXluPgN3pSKWX2eaP1zhMfh+J6c=' },
          }),
        },
        {
          name: 'wrong secret',
          status: 400,
          code: 'LEDGER_SIGNATURE_INVALID',
          send: () => ({ payload: body, headers: zendeskHeaders(body, clock, { secret: 'another-signing-secret' }) }),
        },
        {
          name: 'stale timestamp',
          status: 400,
          code: 'LEDGER_SIGNATURE_STALE',
          send: () => ({ payload: body, headers: zendeskHeaders(body, clock, { timestamp: '2026-03-02T09:54:59Z' }) }),
        },
        { name: 'missing signature header', status: 400, code: 'LEDGER_SIGNATURE_MISSING', send: () => without('x-zendesk-webhook-signature') },
        { name: 'missing timestamp header', status: 400, code: 'LEDGER_SIGNATURE_MISSING', send: () => without('x-zendesk-webhook-signature-timestamp') },
        {
          name: 'body changed after signing',
          status: 400,
          code: 'LEDGER_SIGNATURE_INVALID',
          send: () => ({ payload: body.replace('"8899999"', '"8800000"'), headers: zendeskHeaders(body, clock) }),
        },
        {
          name: 'non-JSON (correctly signed)',
          status: 400,
          code: 'LEDGER_MALFORMED_JSON',
          send: () => ({ payload: 'type=ticket', headers: zendeskHeaders('type=ticket', clock) }),
        },
        {
          name: 'JSON without an event id (correctly signed)',
          status: 400,
          code: 'LEDGER_VALIDATION',
          send: () => {
            const payload = JSON.stringify({ type: 'zen:event-type:ticket.created', time: '2026-03-02T09:00:00Z' });
            return { payload, headers: zendeskHeaders(payload, clock) };
          },
        },
        {
          name: 'wrong content type (correctly signed)',
          status: 415,
          code: 'LEDGER_UNSUPPORTED_MEDIA_TYPE',
          send: () => ({ payload: body, headers: { ...zendeskHeaders(body, clock), 'content-type': 'application/x-www-form-urlencoded' } }),
        },
      ];
      for (const rejected of cases) {
        test(rejected.name, { skip }, async () => {
          const [eventsBefore, inboxBefore] = [await count('ledger_events'), await count('ledger_inbox')];
          const { payload, headers } = rejected.send();
          const response = await deliver(payload, headers);
          assert.equal(response.statusCode, rejected.status, response.body);
          assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
          const problem = response.json<{ code: string; status: number }>();
          assert.equal(problem.code, rejected.code);
          assert.equal(problem.status, rejected.status);
          assert.doesNotMatch(response.body, /\.ts\b|node_modules|at .+:\d+:\d+|select |insert /i);
          assert.equal(await count('ledger_events'), eventsBefore);
          assert.equal(await count('ledger_inbox'), inboxBefore);
        });
      }
    });
  });
}
