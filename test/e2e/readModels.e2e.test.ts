import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { fixture, FIXTURE_IDS, type Json } from '../support/stripeEvents.ts';
import { signedStripeHeaders } from '../support/stripeSigning.ts';
import { databaseTargets } from '../support/databases.ts';
import { startTestApp, TEST_ENV, type TestApp } from '../support/testApp.ts';

// The three read models fed by real, signed deliveries: what the CRM sync, the support desk and
// the app actually read.
const customerRef = `stripe:${FIXTURE_IDS.customer}`;
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

function stripeEvent(name: string, id: string, created: number, patch: (object: Json) => void = () => {}): string {
  const event = fixture(name);
  event.id = id;
  event.created = created;
  patch(event.data.object);
  return JSON.stringify(event);
}

function zendeskTicket(id: string, time: string, detail: Record<string, unknown>): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({
    type: 'zen:event-type:ticket.created',
    account_id: 1,
    id,
    time,
    zendesk_event_version: '2022-11-06',
    subject: `zen:ticket:${String(detail.id)}`,
    detail: { status: 'OPEN', priority: 'NORMAL', tags: [], via: { channel: 'web' }, created_at: time, updated_at: time, ...detail },
    event: {},
  });
  const timestamp = new Date().toISOString();
  const signature = createHmac('sha256', TEST_ENV.ZENDESK_WEBHOOK_SECRET).update(timestamp + body).digest('base64');
  return {
    body,
    headers: { 'content-type': 'application/json', 'x-zendesk-webhook-signature': signature, 'x-zendesk-webhook-signature-timestamp': timestamp },
  };
}

for (const target of databaseTargets) {
  describe(`read models over HTTP on ${target.name}`, async () => {
    const skip = await target.skip();
    let ledger: TestApp;
    before(async () => {
      if (!skip) ledger = await startTestApp(target);
    });
    after(async () => {
      if (ledger) await ledger.close();
    });

    const deliver = async (body: string) => {
      const response = await ledger.app.inject({ method: 'POST', url: '/webhooks/stripe', headers: signedStripeHeaders(body), payload: body });
      assert.equal(response.statusCode, 200, response.body);
    };
    const read = async (path: string, key = 'key-read', headers: Record<string, string> = {}) =>
      ledger.app.inject({ method: 'GET', url: path, headers: { ...auth(key), ...headers } });
    const json = async (path: string, key = 'key-read') => {
      const response = await read(path, key);
      assert.equal(response.statusCode, 200, response.body);
      return response.json();
    };
    // Recent: the past_due grace period is counted from the failed payment's own time.
    const t0 = Math.floor(Date.now() / 1000) - 3600;

    test('a paying customer: CRM stage and plan tag once, support billing ok, app access', { skip }, async () => {
      await deliver(stripeEvent('customer.created', 'evt_rm_customer', t0, (c) => (c.email = 'payer@example.com')));
      await deliver(stripeEvent('customer.subscription.created', 'evt_rm_sub', t0 + 1));
      await deliver(stripeEvent('invoice.paid', 'evt_rm_paid', t0 + 2, (i) => (i.subscription = FIXTURE_IDS.subscription)));
      await ledger.projector.catchUp();

      const contact = await json(`/v1/crm/contacts/${customerRef}`);
      assert.equal(contact.stage, 'customer');
      const planTags = contact.tags.filter((t: string) => t.startsWith('plan:'));
      assert.equal(planTags.length, 1, `one plan tag: ${contact.tags}`);
      const additions = contact.tagHistory.flatMap((h: { add: string[] }) => h.add).filter((t: string) => t === planTags[0]);
      assert.equal(additions.length, 1, 'the plan tag was applied exactly once');
      assert.equal(contact.email, 'payer@example.com');

      const profile = await json(`/v1/support/profiles/${customerRef}`);
      assert.equal(profile.billingStatus, 'ok');
      const entitlements = await json(`/v1/app/entitlements/${customerRef}`, 'key-app');
      assert.equal(entitlements.hasAccess, true);
      assert.equal(entitlements.access, 'full');
    });

    test('a billing ticket routes to the billing queue; a failed payment shows past_due everywhere', { skip }, async () => {
      const ticket = zendeskTicket('zd_rm_1', '2026-03-01T10:00:00Z', { id: '501', subject: 'Question about my invoice', requester_id: '9001', requester_email: 'payer@example.com' });
      const delivered = await ledger.app.inject({ method: 'POST', url: '/webhooks/support', headers: ticket.headers, payload: ticket.body });
      assert.equal(delivered.statusCode, 200, delivered.body);
      const before = await json(`/v1/app/entitlements/${customerRef}`, 'key-app');

      await deliver(
        stripeEvent('invoice.payment_failed', 'evt_rm_failed', t0 + 100, (i) => {
          i.id = 'in_rm_failed';
          i.subscription = FIXTURE_IDS.subscription;
          i.amount_due = 2000;
        }),
      );
      await ledger.projector.catchUp();

      const profile = await json(`/v1/support/profiles/${customerRef}`);
      assert.equal(profile.billingStatus, 'past_due');
      assert.deepEqual(profile.tickets.map((t: { ticketId: string; queue: string }) => [t.ticketId, t.queue]), [['501', 'billing']]);
      const contact = await json(`/v1/crm/contacts/${customerRef}`);
      assert.equal(contact.pastDue, true);
      const entitlements = await json(`/v1/app/entitlements/${customerRef}`, 'key-app');
      assert.equal(entitlements.access, 'grace');
      assert.equal(entitlements.hasAccess, true, 'past_due keeps access during the grace period');
      assert.ok(entitlements.version > before.version, 'the entitlement version only goes up');
    });

    test('ETag and If-None-Match: 304 while nothing changed; keys are scoped', { skip }, async () => {
      const first = await read(`/v1/app/entitlements/${customerRef}`, 'key-app');
      const etag = String(first.headers.etag);
      assert.equal((await read(`/v1/app/entitlements/${customerRef}`, 'key-app', { 'if-none-match': etag })).statusCode, 304);
      assert.equal((await read(`/v1/crm/contacts/${customerRef}`, 'key-app')).statusCode, 403);
      assert.equal((await read(`/v1/crm/contacts/${customerRef}`, 'nope')).statusCode, 401);
      assert.equal((await read('/v1/crm/contacts/stripe:cus_nobody')).statusCode, 404);
    });

    test('a long-poll returns within 100 ms of the purchase being appended', { skip }, async () => {
      await ledger.projector.start();
      try {
        const current = await json(`/v1/app/entitlements/${customerRef}`, 'key-app');
        const polling = read(`/v1/app/entitlements/${customerRef}?waitForVersion=${current.version + 1}&timeoutMs=5000`, 'key-app').then((r) => ({
          response: r,
          at: performance.now(),
        }));
        await new Promise((r) => setTimeout(r, 50));
        const body = stripeEvent('invoice.paid', 'evt_rm_recovered', t0 + 200, (i) => {
          i.id = 'in_rm_recovered';
          i.subscription = FIXTURE_IDS.subscription;
        });
        const delivery = ledger.app.inject({ method: 'POST', url: '/webhooks/stripe', headers: signedStripeHeaders(body), payload: body });
        const appendedAt = await delivery.then((r) => {
          assert.equal(r.statusCode, 200);
          return performance.now();
        });
        const { response, at } = await polling;
        assert.equal(response.statusCode, 200);
        assert.equal(response.json().access, 'full', 'paid again: full access');
        assert.ok(at - appendedAt < 100, `answered ${Math.round(at - appendedAt)} ms after the append was acknowledged`);
      } finally {
        await ledger.projector.stop();
      }
    });

    test('the change feed pages without missing or repeating a change', { skip }, async () => {
      for (const model of ['crm', 'support', 'app']) {
        const cursors: bigint[] = [];
        let after = '0';
        for (;;) {
          const page = await json(`/v1/${model}/changes?after=${after}&limit=2`);
          if (page.changes.length === 0) {
            assert.equal(page.nextCursor, after);
            break;
          }
          for (const change of page.changes) cursors.push(BigInt(change.cursor));
          after = page.nextCursor;
        }
        assert.ok(cursors.length >= 2, `${model} announced its changes`);
        // `after=` left empty (a worker's first call, `after=${cursor ?? ''}`) is the start, as absent is.
        for (const start of ['', '0']) assert.equal((await json(`/v1/${model}/changes?after=${start}&limit=1`)).changes[0]?.cursor, cursors[0]?.toString(), `after=${start}`);
        assert.deepEqual([...cursors].sort((a, b) => (a < b ? -1 : 1)), cursors);
        assert.equal(new Set(cursors).size, cursors.length);
        const idle = performance.now();
        const empty = await json(`/v1/${model}/changes?after=${after}&timeoutMs=100`);
        assert.deepEqual(empty.changes, []);
        assert.ok(performance.now() - idle >= 90, 'an empty page long-polls for timeoutMs');
      }
    });

    // Kafka-mode projector processes write one feed concurrently: the writer that started first
    // may commit last. A sync worker that paged past the later change must still get it.
    test('a change committed after a later one is never behind the cursor a reader already has', { skip }, async (t) => {
      if (ledger.db.sql.kind !== 'postgres') return t.skip('PGlite is one connection: it cannot interleave transactions');
      const pageAfter = (cursor: string) => json(`/v1/crm/changes?after=${cursor}&limit=1000`);
      let cursor = '0';
      for (let page = await pageAfter(cursor); page.changes.length > 0; page = await pageAfter(cursor)) cursor = page.nextCursor;

      const insert = `insert into read_crm_changes (customer_id, position) values ($1, 1)`;
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let wrote!: () => void;
      const written = new Promise<void>((resolve) => (wrote = resolve));
      const slow = ledger.db.sql.transaction(async (tx) => {
        await tx.query(insert, ['cust_started_first']);
        wrote();
        await held;
      });
      await written;
      await ledger.db.sql.transaction((tx) => tx.query(insert, ['cust_committed_first']));

      const whileOpen = await pageAfter(cursor);
      assert.deepEqual(whileOpen.changes, [], 'nothing is handed out past a transaction still open');
      cursor = whileOpen.nextCursor;
      release();
      await slow;

      const seen: string[] = [];
      const deadline = performance.now() + 5_000;
      while (seen.length < 2 && performance.now() < deadline) {
        const page = await pageAfter(cursor);
        seen.push(...page.changes.map((c: { customerId: string }) => c.customerId));
        cursor = page.nextCursor;
        if (page.changes.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.deepEqual(seen, ['cust_started_first', 'cust_committed_first'], 'both, in transaction order');
    });

    // Regression: a long-poll whose change was committed but still behind the fence waited for
    // the read model's next commit or the 1 s poll once the older transaction ended.
    test('a long-poll waiting on a fenced change answers moments after the older transaction ends', { skip }, async (t) => {
      if (ledger.db.sql.kind !== 'postgres') return t.skip('PGlite is one connection: it cannot interleave transactions');
      const pageAfter = (cursor: string) => json(`/v1/crm/changes?after=${cursor}&limit=1000`);
      let cursor = '0';
      for (let page = await pageAfter(cursor); page.changes.length > 0; page = await pageAfter(cursor)) cursor = page.nextCursor;

      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let began!: () => void;
      const open = new Promise<void>((resolve) => (began = resolve));
      // An older transaction (any writer) still running when the change commits.
      const older = ledger.db.sql.transaction(async (tx) => {
        await tx.query('select pg_current_xact_id()');
        began();
        await held;
      });
      await open;
      await ledger.db.sql.transaction((tx) => tx.query(`insert into read_crm_changes (customer_id, position) values ($1, 1)`, ['cust_fenced']));

      const polling = json(`/v1/crm/changes?after=${cursor}&timeoutMs=5000`).then((page) => ({ page, at: performance.now() }));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const releasedAt = performance.now();
      release();
      await older;
      const { page, at } = await polling;
      assert.deepEqual(page.changes.map((c: { customerId: string }) => c.customerId), ['cust_fenced']);
      assert.ok(at - releasedAt < 300, `answered ${Math.round(at - releasedAt)} ms after the fence lifted`);
    });
  });
}

// A deploy stops the service while apps and sync workers hold long-polls open (up to 60 s): they
// are answered at once, as if their time were up, and the stop completes; they outlived the
// drain, their clients got a cut connection, and the process exited 1.
describe('long-polls and a stop (over a real socket)', async () => {
  const target = databaseTargets[0]!;
  const skip = await target.skip();
  test('a waiting change-feed long-poll is answered (an empty page) when the service stops, and the stop does not wait for it', { skip }, async () => {
    const t = await startTestApp(target);
    try {
      const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
      const polling = fetch(`${url}/v1/crm/changes?after=999999999999&timeoutMs=30000`, { headers: { authorization: 'Bearer key-read' } });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const started = performance.now();
      await t.app.close();
      const response = await polling;
      assert.equal(response.status, 200);
      assert.deepEqual(((await response.json()) as { changes: unknown[] }).changes, []);
      assert.ok(performance.now() - started < 3_000, `the stop took ${Math.round(performance.now() - started)} ms`);
    } finally {
      await t.close();
    }
  });
});
