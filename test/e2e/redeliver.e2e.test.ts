import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { domainEvent } from '../../contracts/domainEvents.ts';
import type { RecordedEvent } from '../../contracts/eventMetadata.ts';
import { RedeliveryRequest, type RedeliveryReport } from '../../contracts/api/redelivery.ts';
import { listAudit } from '../../services/admin/auditLog.ts';
import { loadCustomer } from '../../services/commands/loadCustomer.ts';
import { openDatabase } from '../../services/eventstore/openDatabase.ts';
import type { StripeDelivery } from '../../services/ingest/stripe/stripeTranslate.ts';
import type { WebhookSource } from '../../services/ingest/webhookSource.ts';
import { redeliver, todaysSources, type SourceRegistry } from '../../services/operations/redeliver.ts';
import { databaseTargets } from '../support/databases.ts';
import { migratedDataDir } from '../support/migratedDataDir.ts';
import { startLedgerProcess } from '../support/servedProcess.ts';
import { fixture, type Json } from '../support/stripeEvents.ts';
import { signedStripeHeaders } from '../support/stripeSigning.ts';
import { startTestApp, type TestApp } from '../support/testApp.ts';

// `ledger redeliver`: kept inbox deliveries through today's translators, de-duplicated by the
// rule in services/operations/redeliveryKeys.ts, directly, over the admin API, and as a command.

const NOW = new Date();
const clock = () => NOW;
const STARTED = new Date(NOW.getTime() - 60_000).toISOString();

const customerCreated = (eventId: string, customer: string, email: string): Json => {
  const event = fixture('customer.created');
  event.id = eventId;
  event.data.object.id = customer;
  event.data.object.email = email;
  return event;
};

// A type today's Stripe translator does not know: acknowledged, kept in the inbox as `ignored`.
const chargeSucceeded = (eventId: string, customer: string, charge: string): Json => {
  const event = fixture('charge.refunded');
  event.id = eventId;
  event.type = 'charge.succeeded';
  Object.assign(event.data.object, { id: charge, customer, refunded: false, amount_refunded: 0 });
  delete event.data.previous_attributes;
  return event;
};

function signed(event: Json) {
  const payload = JSON.stringify(event);
  return { payload, headers: signedStripeHeaders(payload, { timestamp: Math.floor(NOW.getTime() / 1000) }) };
}
const deliver = (app: TestApp['app'], event: Json) => app.inject({ method: 'POST', url: '/webhooks/stripe', ...signed(event) });
const deliverOver = (url: string, event: Json) => {
  const { payload, headers } = signed(event);
  return fetch(`${url}/webhooks/stripe`, { method: 'POST', headers, body: payload });
};

// The mapper after the "fix": Stripe sources that also understand charge.succeeded, and (second
// variant) state a LeadCaptured before the profile of customer.created.
function fixedStripe(base: WebhookSource<unknown>, change: 'knows charge.succeeded' | 'lead first'): WebhookSource<unknown> {
  return {
    ...base,
    parse: (raw) => ({ delivery: base.parse(raw), json: JSON.parse(raw.toString('utf8')) }),
    translate(payload) {
      const { delivery, json } = payload as { delivery: StripeDelivery; json: Json };
      const today = base.translate(delivery);
      const occurredAt = new Date(json.created * 1000).toISOString();
      if (change === 'knows charge.succeeded' && json.type === 'charge.succeeded') {
        const charge = json.data.object;
        const fact = domainEvent('PaymentSucceeded', { occurredAt, chargeId: charge.id, amountCents: charge.amount, currency: charge.currency });
        return { facts: [{ sourceEventId: json.id, identities: [{ kind: 'stripe', externalId: charge.customer }], createIfMissing: false, fact }], ignored: [] };
      }
      if (change === 'lead first' && json.type === 'customer.created') {
        const lead = { ...today.facts[0]!, sourceEventId: json.id, fact: domainEvent('LeadCaptured', { occurredAt, channel: 'stripe' }) };
        return { facts: [lead, ...today.facts.map((f) => ({ ...f, sourceEventId: `${json.id}:${f.fact.type}` }))], ignored: [] };
      }
      return today;
    },
  };
}

const typesOf = (events: RecordedEvent[]) => events.map((e) => e.type);

for (const target of databaseTargets) {
  describe(`ledger redeliver on ${target.name} (e2e)`, async () => {
    const skip = await target.skip();
    let t: TestApp;
    let today: SourceRegistry;
    const deps = () => ({ store: t.db.store, sql: t.db.sql, now: clock });
    const customerOf = async (stripeId: string) => (await t.db.store.resolveIdentity('stripe', stripeId))!;

    before(async () => {
      if (skip) return;
      t = await startTestApp(target, { now: clock });
      today = todaysSources(t.config);
    });
    after(async () => {
      if (!skip) await t.close();
    });

    test('redelivery after a mapper change produces the new events once; a second run produces none', { skip }, async () => {
      assert.equal((await deliver(t.app, customerCreated('evt_rd_c1', 'cus_rd1', 'rd1@example.com'))).statusCode, 200);
      const ignored = await deliver(t.app, chargeSucceeded('evt_rd_ch1', 'cus_rd1', 'ch_rd1'));
      assert.equal(ignored.statusCode, 200);
      assert.deepEqual(ignored.json().facts, []);
      const inboxId: string = ignored.json().inboxId;
      const customerId = await customerOf('cus_rd1');
      const before = await loadCustomer(t.db.store, customerId);

      // Today's mapper: still nothing to say about charge.succeeded.
      const unchanged = await redeliver(deps(), today, { inboxId });
      assert.deepEqual(unchanged.totals, { deliveries: 1, appended: 0, duplicate: 0, unmatched: 0, ignored: 1, failed: 0 });

      const fixed = { ...today, stripe: fixedStripe(today.stripe, 'knows charge.succeeded') };
      const first = await redeliver(deps(), fixed, { since: STARTED, source: 'stripe' });
      const delivery = first.deliveries.find((d) => d.inboxId === inboxId)!;
      assert.equal(delivery.originalOutcome, 'ignored');
      assert.deepEqual(delivery.facts, [{ sourceEventId: 'evt_rd_ch1', type: 'PaymentSucceeded', outcome: 'appended', customerId }]);
      // The customer.created delivery is in the same window: its fact is reported, not re-appended.
      const profile = first.deliveries.find((d) => d.facts.some((f) => f.sourceEventId === 'evt_rd_c1'))!;
      assert.deepEqual(profile.facts.map((f) => f.outcome), ['duplicate']);

      const afterFirst = await loadCustomer(t.db.store, customerId);
      const added = afterFirst.events.slice(before.events.length);
      assert.equal(typesOf(added)[0], 'PaymentSucceeded');
      assert.equal(added[0]!.metadata.sourceEventId, 'evt_rd_ch1');
      assert.equal(added[0]!.metadata.source, 'stripe');
      assert.equal(afterFirst.state.lastPayment?.amountCents, 100);

      const second = await redeliver(deps(), fixed, { since: STARTED, source: 'stripe' });
      assert.equal(second.totals.appended, 0);
      assert.equal(second.totals.failed, 0);
      assert.equal((await loadCustomer(t.db.store, customerId)).version, afterFirst.version);

      // A provider retry of the same event after the redelivery de-duplicates against it.
      const retry = await redeliver(deps(), fixed, { inboxId });
      assert.deepEqual(retry.deliveries[0]!.facts.map((f) => f.outcome), ['duplicate']);
    });

    test('a mapper that now states another fact first neither drops it nor doubles the old one', { skip }, async () => {
      const created = await deliver(t.app, customerCreated('evt_rd_c2', 'cus_rd2', 'rd2@example.com'));
      const inboxId: string = created.json().inboxId;
      const customerId = await customerOf('cus_rd2');
      const before = await loadCustomer(t.db.store, customerId);
      assert.deepEqual(typesOf(before.events).filter((type) => type !== 'IdentityLinked'), ['CustomerProfileUpdated']);

      // Today's key for the new first fact (`evt_rd_c2`) already holds the profile fact, and the
      // profile fact now comes keyed `evt_rd_c2:CustomerProfileUpdated`: keys alone would drop
      // the lead and append the profile a second time.
      const fixed = { ...today, stripe: fixedStripe(today.stripe, 'lead first') };
      const first = await redeliver(deps(), fixed, { inboxId });
      assert.deepEqual(first.deliveries[0]!.facts, [
        { sourceEventId: 'evt_rd_c2:LeadCaptured', type: 'LeadCaptured', outcome: 'appended', customerId },
        { sourceEventId: 'evt_rd_c2', type: 'CustomerProfileUpdated', outcome: 'duplicate', customerId },
      ]);
      const afterFirst = await loadCustomer(t.db.store, customerId);
      assert.deepEqual(typesOf(afterFirst.events.slice(before.events.length)), ['LeadCaptured']);

      const second = await redeliver(deps(), fixed, { inboxId });
      assert.deepEqual(second.deliveries[0]!.facts.map((f) => f.outcome), ['duplicate', 'duplicate']);
      assert.equal((await loadCustomer(t.db.store, customerId)).version, afterFirst.version);
    });

    test('a refund that arrived before its payment is appended by a redelivery once the charge is known', { skip }, async () => {
      // Stripe does not order deliveries: the refund finds nobody and is kept as `unmatched`.
      const refund = fixture('charge.refunded');
      refund.id = 'evt_rd_refund';
      Object.assign(refund.data.object, { id: 'ch_rd3', customer: null, payment_intent: null, invoice: null, receipt_email: null, billing_details: null });
      const unmatched = await deliver(t.app, refund);
      assert.equal(unmatched.json().facts[0].outcome, 'unmatched');
      const inboxId: string = unmatched.json().inboxId;
      assert.equal((await redeliver(deps(), today, { inboxId })).deliveries[0]!.facts[0]!.outcome, 'unmatched');

      const paid = fixture('invoice.paid');
      paid.id = 'evt_rd_inv3';
      Object.assign(paid.data.object, { id: 'in_rd3', customer: 'cus_rd3', charge: 'ch_rd3', payment_intent: 'pi_rd3', subscription: 'sub_rd3', customer_email: 'rd3@example.com' });
      assert.equal((await deliver(t.app, paid)).json().facts[0].outcome, 'appended');

      const now = await redeliver(deps(), today, { inboxId });
      assert.deepEqual(now.deliveries[0]!.facts.map((f) => [f.type, f.outcome, f.customerId]), [['RefundIssued', 'appended', await customerOf('cus_rd3')]]);
      assert.equal((await redeliver(deps(), today, { inboxId })).totals.appended, 0);
    });

    test('a window larger than --limit is walked page by page (after = the report\'s next), each delivery once', { skip }, async () => {
      for (let n = 0; n < 5; n += 1) assert.equal((await deliver(t.app, customerCreated(`evt_rd_p${n}`, `cus_rd_p${n}`, `p${n}@example.com`))).statusCode, 200);
      const all = await redeliver(deps(), today, { since: STARTED, source: 'stripe' });
      assert.equal(all.truncated, false);
      assert.equal(all.next, undefined);

      const seen: string[] = [];
      let after: string | undefined;
      for (let page = 0; page < 20; page += 1) {
        const report = await redeliver(deps(), today, { since: STARTED, source: 'stripe', limit: 2, ...(after ? { after } : {}) });
        seen.push(...report.deliveries.map((d) => d.inboxId));
        if (!report.truncated) break;
        assert.equal(report.next, report.deliveries.at(-1)!.inboxId);
        after = report.next;
      }
      assert.deepEqual(seen, all.deliveries.map((d) => d.inboxId), 'every delivery of the window, in order, none twice');

      const alone = RedeliveryRequest.safeParse({ inboxId: seen[0]!, after: seen[0]! });
      assert.equal(alone.success, false, '`after` continues a `since` window only');
      assert.match(alone.error?.message ?? '', /give since too/);
    });

    test('POST /admin/redeliveries: admin only, validated, the same report', { skip }, async () => {
      const post = (key: string | undefined, body: unknown) =>
        t.app.inject({ method: 'POST', url: '/admin/redeliveries', headers: key ? { authorization: `Bearer ${key}` } : {}, payload: body as object });
      const created = await deliver(t.app, customerCreated('evt_rd_c4', 'cus_rd4', 'rd4@example.com'));
      const inboxId: string = created.json().inboxId;

      assert.equal((await post(undefined, { inboxId })).statusCode, 401);
      assert.equal((await post('key-support', { inboxId })).statusCode, 403);
      assert.equal((await post('key-read', { inboxId })).statusCode, 403);
      const both = await post('key-admin', { inboxId, since: STARTED });
      assert.equal(both.statusCode, 400);
      assert.equal(both.json().code, 'LEDGER_VALIDATION');
      assert.equal((await post('key-admin', { inboxId: '999999999' })).json().code, 'LEDGER_NOT_FOUND');

      const ok = await post('key-admin', { inboxId });
      assert.equal(ok.statusCode, 200);
      const report: RedeliveryReport = ok.json();
      assert.deepEqual(report.totals, { deliveries: 1, appended: 0, duplicate: 1, unmatched: 0, ignored: 0, failed: 0 });

      // Every request, refused or answered, is in the admin audit log with who asked and what for.
      const audit = (await listAudit(t.db.sql, { limit: 50 })).entries.filter((e) => e.route === '/admin/redeliveries').reverse();
      assert.deepEqual(audit.map((e) => [e.status, e.role]), [[401, null], [403, 'support'], [403, null], [400, 'admin'], [404, 'admin'], [200, 'admin']]);
      assert.equal(audit.at(-1)!.target, `inbox:${inboxId}`);
      assert.deepEqual(audit.at(-1)!.detail?.totals, report.totals);
    });
  });
}

describe('ledger redeliver as a command (e2e, embedded store)', async () => {
  const dataDir = await migratedDataDir('ledger-redeliver-');
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  const ledger = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, ['bin/ledger.js', 'redeliver', ...args], {
      env: { ...process.env, LEDGER_DATA_DIR: dataDir, DATABASE_URL: '', ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });

  test('goes through the running service while it holds the files, and opens them itself after', async () => {
    const served = await startLedgerProcess(['serve'], { LEDGER_DATA_DIR: dataDir });
    try {
      assert.equal((await deliverOver(served.url, customerCreated('evt_cli_c1', 'cus_cli1', 'cli@example.com'))).status, 200);
      assert.equal((await deliverOver(served.url, chargeSucceeded('evt_cli_ch1', 'cus_cli1', 'ch_cli1'))).status, 200);

      const noKey = ledger(['--since', '1h'], { LEDGER_URL: served.url });
      assert.equal(noKey.status, 1, noKey.stderr);
      assert.match(noKey.stderr, /holds the embedded store .* set LEDGER_API_KEY .* runs on PostgreSQL, set its DATABASE_URL here too/);

      // A command with no admin route (the projectors, the relay) is refused, not let open the
      // files a second time; a LEDGER_URL written with a trailing slash finds the service too.
      const projectors = spawnSync(process.execPath, ['bin/ledger.js', 'projections', 'run', '--once'], {
        env: { ...process.env, LEDGER_DATA_DIR: dataDir, DATABASE_URL: '', LEDGER_URL: `${served.url}/` },
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(projectors.status, 1, projectors.stderr);
      assert.match(projectors.stderr, /holds the embedded store .* stop it first; if that service runs on PostgreSQL, set its DATABASE_URL here too/);

      const remote = ledger(['--since', '1h', '--json'], { LEDGER_URL: served.url, LEDGER_API_KEY: 'key-admin' });
      assert.equal(remote.status, 0, remote.stderr);
      const report: RedeliveryReport = JSON.parse(remote.stdout);
      assert.deepEqual(report.totals, { deliveries: 2, appended: 0, duplicate: 1, unmatched: 0, ignored: 1, failed: 0 });
      const missing = ledger(['9999'], { LEDGER_URL: served.url, LEDGER_API_KEY: 'key-admin' });
      assert.equal(missing.status, 1, missing.stderr);
      assert.equal(missing.stderr, 'ledger: POST /admin/redeliveries: 404 LEDGER_NOT_FOUND No inbox delivery 9999 (pruned, or never kept)\n');
    } finally {
      served.child.kill('SIGTERM');
      await served.exited;
    }
    const direct = ledger(['--since', '1h', '--source', 'stripe'], { LEDGER_URL: 'http://127.0.0.1:9' });
    assert.equal(direct.status, 0, direct.stderr);
    assert.match(direct.stdout, /2 deliveries: 0 facts appended, 1 duplicate, 0 unmatched, 1 ignored, 0 failed/);
    assert.match(direct.stdout, /was ignored/);

    const db = await openDatabase({ dataDir });
    try {
      const audit = (await listAudit(db.sql, { limit: 10 })).entries.reverse();
      assert.deepEqual(audit.map((e) => [e.route, e.role, e.status]), [
        ['/admin/redeliveries', 'admin', 200],
        ['/admin/redeliveries', 'admin', 404],
        ['ledger redeliver', 'direct', 200],
      ]);
      assert.match(audit[2]!.principal ?? '', /^cli:/);
      assert.match(audit[2]!.target ?? '', /^inbox:since:.*:stripe$/);
    } finally {
      await db.close();
    }

    // A window past --limit says how to go on, and the command it prints continues it.
    const firstPage = ledger(['--since', '1h', '--limit', '1'], { LEDGER_URL: 'http://127.0.0.1:9' });
    assert.equal(firstPage.status, 0, firstPage.stderr);
    const continuation = /Continue with: ledger redeliver (--since \S+ --limit 1 --after \d+)/.exec(firstPage.stderr);
    assert.ok(continuation, firstPage.stderr);
    const secondPage = ledger(continuation[1]!.split(' '), { LEDGER_URL: 'http://127.0.0.1:9' });
    assert.equal(secondPage.status, 0, secondPage.stderr);
    assert.doesNotMatch(secondPage.stderr, /Continue with/, 'two deliveries, one a page: the second page is the last');
    assert.match(secondPage.stdout, /1 deliveries:/);
    assert.notEqual(/inbox +(\d+)/.exec(secondPage.stdout)?.[1], /inbox +(\d+)/.exec(firstPage.stdout)?.[1]);

    const usage = ledger(['1', '--since', '1h'], {});
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /exactly one of inboxId or since/);
  });

  test('an inbox id it does not keep, straight against the store: one line with its code, exit 1, no stack', () => {
    const missing = ledger(['9999'], { LEDGER_URL: 'http://127.0.0.1:9' });
    assert.equal(missing.status, 1, missing.stderr);
    assert.equal(missing.stderr, 'ledger: LEDGER_NOT_FOUND: No inbox delivery 9999 (pruned, or never kept)\n');
  });
});
