import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { LedgerError } from '../../domain/errors.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { buildApp } from '../../services/http/app.ts';
import { createProjector } from '../../services/projector/readModelRunners.ts';
import { loadCustomer } from '../../services/commands/loadCustomer.ts';
import type { StripeDelivery } from '../../services/ingest/stripe/stripeTranslate.ts';
import { DoctorEnv } from '../../contracts/doctorEnv.ts';
import { unmatchedDeliveriesCheck } from '../../services/operations/doctorStoreChecks.ts';
import { redeliver, todaysSources, type SourceRegistry } from '../../services/operations/redeliver.ts';
import { waitingClaimsOf } from '../../services/ingest/waitingClaims.ts';
import { isDue, retryUnmatched, retryWaitingFor, scheduleUnmatchedRetry } from '../../services/operations/unmatchedRetry.ts';
import { renderTrail } from '../../services/cli/trace.ts';
import { correlationTrail } from '../../services/telemetry/correlationTrail.ts';
import { databaseTargets, openSecondPool } from '../support/databases.ts';
import { migratedDataDir } from '../support/migratedDataDir.ts';
import { parsePrometheusText, total } from '../support/prometheusText.ts';
import { startLedgerProcess } from '../support/servedProcess.ts';
import { fixture, subscriptionEvent, type Json } from '../support/stripeEvents.ts';
import { signedStripeHeaders } from '../support/stripeSigning.ts';
import { startTestApp, type TestApp } from '../support/testApp.ts';

// A delivery that finds no customer yet (a refund named only by its charge, delivered before
// the invoice that claims the charge) is answered 2xx and kept as unmatched; the service tries it
// again by itself once its customer is known, on a backoff, inside the provider's retry window.

const MINUTE = 60_000;
const OPTIONS = { intervalMs: MINUTE, windowMs: 72 * 60 * MINUTE };

// A subscription's creation and its paid invoice in one second, and a full refund of that
// invoice's charge 15 minutes later, as Stripe sends them (the refund names no subscription).
function refundStory(n: string, created: number) {
  const customer = `cus_um_${n}`;
  const subscription = stampedAt(subscriptionEvent('customer.subscription.created', { id: `sub_um_${n}`, customer, status: 'active' }), `evt_um_${n}_1`, created);
  const paid = stampedAt(fixture('invoice.paid'), `evt_um_${n}_2`, created);
  Object.assign(paid.data.object, { id: `in_um_${n}`, customer, subscription: `sub_um_${n}`, charge: `ch_um_${n}`, payment_intent: `pi_um_${n}` });
  const refund = stampedAt(fixture('charge.refunded'), `evt_um_${n}_3`, created + 900);
  // Not the customer: found only through the charge, which the paid invoice claims.
  Object.assign(refund.data.object, { id: `ch_um_${n}`, customer: null, invoice: `in_um_${n}`, payment_intent: `pi_um_${n}`, receipt_email: null, billing_details: null });
  return { customer, subscription, paid, refund };
}

function stampedAt(event: Json, id: string, created: number): Json {
  return { ...event, id, created };
}

function signed(event: Json, now: Date) {
  const payload = JSON.stringify(event);
  return { payload, headers: signedStripeHeaders(payload, { timestamp: Math.floor(now.getTime() / 1000) }) };
}

// The service's own scheduler on a store, on the real clock (the inbox stamps receipt with the
// database's); each pass reported as `trigger: n tried, m matched`.
async function startRetry(db: LedgerDatabase, sources: SourceRegistry, intervalMs: number) {
  const reports: string[] = [];
  const stop = await scheduleUnmatchedRetry({ store: db.store, sql: db.sql, now: () => new Date() }, sources, { intervalMs, windowMs: OPTIONS.windowMs }, {
    done: (pass) => reports.push(`${pass.trigger}: ${pass.tried} tried, ${pass.matched} matched`),
    failed: (error) => reports.push(`failed: ${String(error)}`),
  });
  return { stop, reports };
}

// Today's translators, with a look at each Stripe delivery before it is translated: to count
// it, or to throw as a translator bug or today's contract would.
function watchingStripe(sources: SourceRegistry, watch: (delivery: StripeDelivery) => void): SourceRegistry {
  return {
    ...sources,
    stripe: {
      ...sources.stripe,
      translate(payload) {
        watch(payload as StripeDelivery);
        return sources.stripe.translate(payload);
      },
    },
  };
}

describe('when a pass tries an unmatched delivery: once per doubling of its age, inside the window', () => {
  test('passes every interval for three days try a delivery 14 times: at once, then 1, 2, 4 … 4,096 intervals after it arrived', () => {
    const received = 0;
    let lastPass: number | null = null;
    const tried: number[] = [];
    for (let now = 30_000; now <= 72 * 60 * MINUTE; now += MINUTE) {
      if (isDue(received, lastPass, now, MINUTE)) tried.push(Math.floor((now - received) / MINUTE));
      lastPass = now;
    }
    assert.deepEqual(tried, [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]);
  });

  test('a process that just started tries every waiting delivery once', () => {
    assert.equal(isDue(0, null, 10, MINUTE), true);
  });
});

for (const target of databaseTargets) {
  describe(`unmatched deliveries tried again on ${target.name} (e2e)`, async () => {
    const skip = await target.skip();
    let t: TestApp;
    let now = new Date();
    before(async () => {
      if (!skip) t = await startTestApp(target, { now: () => now });
    });
    after(async () => {
      if (!skip) await t.close();
    });
    const deps = () => ({ store: t.db.store, sql: t.db.sql, now: () => now });
    const deliver = (event: Json) => t.app.inject({ method: 'POST', url: '/webhooks/stripe', ...signed(event, now) });
    const customerOf = async (stripeId: string) => {
      const id = await t.db.store.resolveIdentity('stripe', stripeId);
      assert.ok(id, `no customer for ${stripeId}`);
      return loadCustomer(t.db.store, id);
    };
    const matchedAt = async (inboxId: string) =>
      (await t.db.sql.query<{ matched_at: Date | null }>('select matched_at from ledger_inbox where id = $1::bigint', [inboxId])).rows[0]?.matched_at ?? null;

    test('a refund delivered before the invoice it refunds: refunded once the invoice arrives, by the next due pass, once', { skip }, async () => {
      const story = refundStory('a', Math.floor(now.getTime() / 1000) - 3_600);
      const unmatched = await deliver(story.refund);
      assert.equal(unmatched.statusCode, 200);
      assert.equal(unmatched.json().facts[0].outcome, 'unmatched');
      const inboxId: string = unmatched.json().inboxId;
      // The inbox stamps receipt with the database's clock; the passes run on the test's.
      const { rows } = await t.db.sql.query<{ received_at: Date | string }>('select received_at from ledger_inbox where id = $1::bigint', [inboxId]);
      const received = new Date(rows[0]!.received_at).getTime();

      const first = received;
      now = new Date(first);
      assert.deepEqual(await retryUnmatched(deps(), todaysSources(t.config), OPTIONS, null), { waiting: 1, tried: 1, matched: 0, failed: 0, errors: [] });
      assert.equal(await matchedAt(inboxId), null);

      assert.equal((await deliver(story.subscription)).statusCode, 200);
      assert.equal((await deliver(story.paid)).statusCode, 200);
      assert.equal((await customerOf(story.customer)).state.lifecycle, 'active');

      // Not yet its turn half a minute later; a minute after it arrived, it is.
      now = new Date(first + MINUTE / 2);
      assert.deepEqual(await retryUnmatched(deps(), todaysSources(t.config), OPTIONS, first), { waiting: 1, tried: 0, matched: 0, failed: 0, errors: [] });
      const second = now.getTime();
      now = new Date(first + MINUTE + 1_000);
      assert.deepEqual(await retryUnmatched(deps(), todaysSources(t.config), OPTIONS, second), { waiting: 1, tried: 1, matched: 1, failed: 0, errors: [] });
      assert.notEqual(await matchedAt(inboxId), null);

      const { state, events } = await customerOf(story.customer);
      assert.equal(state.lifecycle, 'refunded');
      assert.equal(events.filter((event) => event.type === 'RefundIssued').length, 1);
      // The redelivered fact keeps the delivery's correlation id.
      assert.equal(events.find((event) => event.type === 'RefundIssued')?.metadata.correlationId, unmatched.json().correlationId);

      // `ledger trace` on the delivery's correlation id: kept unmatched, matched later, the refund.
      const trail = await correlationTrail(t.db.sql, unmatched.json().correlationId);
      const delivery = trail.entries.find((entry) => entry.kind === 'delivery');
      assert.equal(delivery?.kind === 'delivery' && delivery.outcome, 'unmatched');
      assert.ok(delivery?.kind === 'delivery' && delivery.matchedAt !== null && Date.parse(delivery.matchedAt) >= received);
      assert.ok(trail.entries.some((entry) => entry.kind === 'fact' && entry.type === 'RefundIssued'));

      // Matched: never tried again, and nothing appended twice.
      assert.deepEqual(await retryUnmatched(deps(), todaysSources(t.config), OPTIONS, null), { waiting: 0, tried: 0, matched: 0, failed: 0, errors: [] });
    });

    test('12 customers refunded, their deliveries shuffled and duplicated: after a pass, the states in-order delivery gives', { skip }, async () => {
      // Half of them were paid again after the refund (a renewal): active; the rest refunded. A
      // third are not known beforehand; the others are (customer.created) and their refund names
      // them: one that overtakes its invoice is flagged, and the flag withdrawn when it arrives.
      const lives = Array.from({ length: 12 }, (_, n) => {
        const created = Math.floor(now.getTime() / 1000) - 7_200 + n;
        const story = refundStory(`shuffle${n}`, created);
        const events = [story.subscription, story.paid, story.refund];
        if (n % 3 !== 0) {
          const profile = stampedAt(fixture('customer.created'), `evt_um_shuffle${n}_0`, created - 600);
          Object.assign(profile.data.object, { id: story.customer, email: `shuffle${n}@example.com` });
          story.refund.data.object.customer = story.customer;
          events.unshift(profile);
        }
        if (n % 2 === 1) {
          const renewal = stampedAt(fixture('invoice.paid'), `evt_um_shuffle${n}_4`, created + 1_800);
          Object.assign(renewal.data.object, { id: `in_um_shuffle${n}_r`, customer: story.customer, subscription: `sub_um_shuffle${n}`, charge: `ch_um_shuffle${n}_r`, payment_intent: `pi_um_shuffle${n}_r`, billing_reason: 'subscription_cycle' });
          events.push(renewal);
        }
        return { customer: story.customer, events, expected: n % 2 === 1 ? 'active' : 'refunded' };
      });
      let seed = 20_261_207;
      const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
      const all = lives.flatMap((life) => life.events);
      const deliveries = [...all, ...all.filter(() => random() < 0.3)];
      for (let i = deliveries.length - 1; i > 0; i -= 1) {
        const j = Math.floor(random() * (i + 1));
        [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
      }
      let unmatched = 0;
      for (const event of deliveries) {
        const response = await deliver(event);
        assert.equal(response.statusCode, 200);
        if (response.json().facts.some((fact: { outcome: string }) => fact.outcome === 'unmatched')) unmatched += 1;
      }
      assert.ok(unmatched > 0, 'some refund overtook the invoice that claims its charge');
      const pass = await retryUnmatched(deps(), todaysSources(t.config), OPTIONS, null);
      assert.equal(pass.failed, 0);
      const states = Object.fromEntries(await Promise.all(lives.map(async (life) => [life.customer, (await customerOf(life.customer)).state.lifecycle] as const)));
      assert.deepEqual(states, Object.fromEntries(lives.map((life) => [life.customer, life.expected])));
      let withdrawn = 0;
      for (const life of lives) {
        const { events } = await customerOf(life.customer);
        assert.equal(events.filter((event) => event.type === 'RefundIssued').length, 1, life.customer);
        withdrawn += events.filter((event) => event.type === 'LifecycleChanged' && (event.data as { from: string }).from === 'needs_review').length;
      }
      assert.ok(withdrawn > 0, 'some refund overtook its invoice for a known customer and was flagged, then withdrawn');
    });

    test('deliveries the translator throws on or refuses are counted failed, named, and do not hold the others back', { skip }, async () => {
      const first = refundStory('poison', Math.floor(now.getTime() / 1000) - 600);
      const refused = refundStory('refused', Math.floor(now.getTime() / 1000) - 600);
      const second = refundStory('after_poison', Math.floor(now.getTime() / 1000) - 600);
      for (const event of [first.refund, refused.refund, second.refund]) assert.equal((await deliver(event)).json().facts[0].outcome, 'unmatched');
      for (const event of [second.subscription, second.paid]) assert.equal((await deliver(event)).statusCode, 200);
      const poisoned = watchingStripe(todaysSources(t.config), (delivery) => {
        if (delivery.kind === 'known' && delivery.event.id === first.refund.id) throw new TypeError('a translator bug');
        if (delivery.kind === 'known' && delivery.event.id === refused.refund.id) throw new LedgerError('LEDGER_VALIDATION', 'today’s contract refuses it');
      });
      const pass = await retryUnmatched(deps(), poisoned, OPTIONS, null);
      assert.equal(pass.failed, 2);
      assert.equal(pass.matched, 1);
      assert.match(pass.errors.join(), /^inbox \d+: TypeError,inbox \d+: LEDGER_VALIDATION$/);
      assert.equal((await customerOf(second.customer)).state.lifecycle, 'refunded');
    });

    const scheduled = (intervalMs: number, sources = todaysSources(t.config)) => startRetry(t.db, sources, intervalMs);
    const until = async (what: string, check: () => Promise<boolean>, ms = 10_000) => {
      const deadline = Date.now() + ms;
      while (!(await check())) {
        if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const lifecycleOf = async (stripeId: string) => {
      const id = await t.db.store.resolveIdentity('stripe', stripeId);
      return id === null || id === undefined ? null : (await loadCustomer(t.db.store, id)).state.lifecycle;
    };

    test('the invoice that brings a waiting refund its customer wakes it: refunded at once, not at its backoff step an hour on', { skip }, async () => {
      const { stop, reports } = await scheduled(60 * MINUTE);
      try {
        const story = refundStory('woken', Math.floor(now.getTime() / 1000) - 3_600);
        const unmatched = await deliver(story.refund);
        assert.equal(unmatched.json().facts[0].outcome, 'unmatched');
        const { correlationId, inboxId } = unmatched.json();
        // `ledger trace` says what it waits for: its charge, invoice and payment, no e-mail.
        const trail = await correlationTrail(t.db.sql, correlationId);
        const waiting = trail.entries.find((entry) => entry.kind === 'delivery');
        assert.deepEqual(waiting?.kind === 'delivery' && [...waiting.waitingFor].sort(), ['stripe_charge:ch_um_woken', 'stripe_invoice:in_um_woken', 'stripe_payment_intent:pi_um_woken']);
        // In full below the table, never cut to a column's width.
        const rendered = renderTrail(trail, false);
        assert.match(rendered, new RegExp(`inbox #${inboxId}: unmatched, waiting for its customer`));
        assert.match(rendered, new RegExp(`inbox #${inboxId} waits for\\s+stripe_charge:ch_um_woken, stripe_payment_intent:pi_um_woken, stripe_invoice:in_um_woken\\n`));
        // Tried once at once (its customer might have come while it was kept); not found yet.
        await until('tried on keeping', async () => reports.some((report) => report.startsWith('arrival: 1 tried')));
        assert.equal(await matchedAt(inboxId), null);
        reports.length = 0;

        for (const event of [story.subscription, story.paid]) assert.equal((await deliver(event)).statusCode, 200);
        await until('refunded', async () => (await lifecycleOf(story.customer)) === 'refunded');
        await until('marked matched', async () => (await matchedAt(inboxId)) !== null);
        const { events } = await customerOf(story.customer);
        assert.equal(events.filter((event) => event.type === 'RefundIssued').length, 1);
        assert.equal(events.find((event) => event.type === 'RefundIssued')?.metadata.correlationId, correlationId);
        const matched = (await correlationTrail(t.db.sql, correlationId)).entries.find((entry) => entry.kind === 'delivery');
        assert.deepEqual(matched?.kind === 'delivery' && matched.waitingFor, []);
        assert.deepEqual(reports, ['arrival: 1 tried, 1 matched']);
      } finally {
        await stop();
      }
    });

    test('refunds delivered side by side with their invoices: every customer refunded, whichever the ledger finished first', { skip }, async () => {
      const { stop } = await scheduled(60 * MINUTE);
      try {
        const stories = Array.from({ length: 6 }, (_, n) => refundStory(`side${n}`, Math.floor(now.getTime() / 1000) - 3_600 + n));
        // The refund first on the wire each time: it is looked up before the invoice is appended,
        // and often kept after the invoice's append found nothing waiting yet.
        await Promise.all(stories.flatMap((story) => [deliver(story.refund), deliver(story.subscription), deliver(story.paid)]));
        await until('all refunded', async () => (await Promise.all(stories.map((story) => lifecycleOf(story.customer)))).every((state) => state === 'refunded'));
        for (const story of stories) {
          const { events } = await customerOf(story.customer);
          assert.equal(events.filter((event) => event.type === 'RefundIssued').length, 1, story.customer);
        }
      } finally {
        await stop();
      }
    });

    test('a human links the Stripe customer a refund names: the waiting refund is recorded at once', { skip }, async () => {
      const { stop, reports } = await scheduled(60 * MINUTE);
      try {
        // The customer paid as cus_um_hand; the refund is of a charge on a duplicate Stripe customer.
        const story = refundStory('hand', Math.floor(now.getTime() / 1000) - 3_600);
        Object.assign(story.refund.data.object, { id: 'ch_um_hand_dup', customer: 'cus_um_hand_dup', invoice: null, payment_intent: null });
        for (const event of [story.subscription, story.paid]) assert.equal((await deliver(event)).statusCode, 200);
        const kept = (await deliver(story.refund)).json();
        assert.equal(kept.facts[0].outcome, 'unmatched');
        await until('tried on keeping', async () => reports.some((report) => report.startsWith('arrival: 1 tried')));
        reports.length = 0;

        const customerId = await t.db.store.resolveIdentity('stripe', story.customer);
        const linked = await t.app.inject({
          method: 'POST',
          url: `/admin/customers/${customerId}/identities`,
          headers: { authorization: 'Bearer key-admin' },
          payload: { action: 'link', kind: 'stripe', externalId: 'cus_um_hand_dup', reason: 'Duplicate Stripe customer' },
        });
        assert.equal(linked.statusCode, 200, linked.body);
        await until('refunded', async () => (await lifecycleOf(story.customer)) === 'refunded');
        await until('marked matched', async () => (await matchedAt(kept.inboxId)) !== null);
        // (The refund's own append may look once more for its charge: nothing waits for it.)
        assert.deepEqual(reports.filter((report) => !report.includes(' 0 tried')), ['arrival: 1 tried, 1 matched']);
      } finally {
        await stop();
      }
    });

    test('an arrival tries only the deliveries waiting for its claims', { skip }, async () => {
      const story = refundStory('unrelated', Math.floor(now.getTime() / 1000) - 600);
      assert.equal((await deliver(story.refund)).json().facts[0].outcome, 'unmatched');
      const deps = { store: t.db.store, sql: t.db.sql, now: () => new Date() };
      assert.deepEqual(await retryWaitingFor(deps, todaysSources(t.config), OPTIONS, ['stripe:cus_nobody_waits']), { waiting: 0, tried: 0, matched: 0, failed: 0, errors: [] });
      const tried = await retryWaitingFor(deps, todaysSources(t.config), OPTIONS, ['stripe_charge:ch_um_unrelated']);
      assert.deepEqual([tried.waiting, tried.tried, tried.matched], [1, 1, 0]);
    });

    test('an arrival this process did not hear of (another process’s): a backoff pass on the timer matches it', { skip }, async () => {
      const story = refundStory('timer', Math.floor(now.getTime() / 1000) - 3_600);
      const { inboxId } = (await deliver(story.refund)).json();
      let refundTries = 0;
      const counting = watchingStripe(todaysSources(t.config), (delivery) => {
        if (delivery.kind === 'known' && delivery.event.id === story.refund.id) refundTries += 1;
      });
      const { stop, reports } = await scheduled(1_000, counting);
      const claims = waitingClaimsOf(t.db.store);
      const arrived = claims.arrived;
      try {
        await until('tried by the first pass', async () => refundTries > 0 && reports.length > 0);
        claims.arrived = () => {};
        for (const event of [story.subscription, story.paid]) assert.equal((await deliver(event)).statusCode, 200);
        await until('refunded by a backoff pass', async () => (await lifecycleOf(story.customer)) === 'refunded', 15_000);
        await until('marked matched', async () => (await matchedAt(inboxId)) !== null);
        assert.ok(reports.some((report) => report.startsWith('backoff: ') && report.endsWith(' 1 matched')), reports.join('; '));
        assert.ok(!reports.some((report) => report.startsWith('arrival') && !report.endsWith(' 0 matched')), reports.join('; '));
      } finally {
        claims.arrived = arrived;
        await stop();
      }
    });

    test('past the window, a human’s `ledger redeliver` that matches a delivery marks it: doctor and trace stop reporting it', { skip }, async () => {
      const story = refundStory('human', Math.floor(now.getTime() / 1000) - 100 * 3_600);
      const kept = (await deliver(story.refund)).json();
      assert.equal(kept.facts[0].outcome, 'unmatched');
      await t.db.sql.query(`update ledger_inbox set received_at = now() - interval '80 hours' where id = $1::bigint`, [kept.inboxId]);
      for (const event of [story.subscription, story.paid]) assert.equal((await deliver(event)).statusCode, 200);
      const doctor = () => unmatchedDeliveriesCheck({ env: {}, store: { kind: 'direct', db: t.db } }, DoctorEnv.parse({}));
      assert.equal((await doctor()).status, 'fail');

      const report = await redeliver(deps(), todaysSources(t.config), { inboxId: kept.inboxId });
      assert.deepEqual(report.deliveries[0]?.facts.map((fact) => fact.outcome), ['appended']);
      assert.equal((await customerOf(story.customer)).state.lifecycle, 'refunded');
      assert.notEqual(await matchedAt(kept.inboxId), null);
      assert.equal((await doctor()).status, 'pass');
      const delivery = (await correlationTrail(t.db.sql, kept.correlationId)).entries.find((entry) => entry.kind === 'delivery');
      assert.deepEqual(delivery?.kind === 'delivery' && delivery.waitingFor, []);
    });

    test('past the window a delivery is left for a human (`ledger redeliver`)', { skip }, async () => {
      const story = refundStory('b', Math.floor(now.getTime() / 1000));
      const unmatched = await deliver(story.refund);
      assert.equal(unmatched.json().facts[0].outcome, 'unmatched');
      now = new Date(now.getTime() + OPTIONS.windowMs + MINUTE);
      assert.deepEqual(await retryUnmatched(deps(), todaysSources(t.config), OPTIONS, null), { waiting: 0, tried: 0, matched: 0, failed: 0, errors: [] });
      assert.equal(await matchedAt(unmatched.json().inboxId), null);
    });
  });
}

describe('ledger serve tries unmatched deliveries again by itself (e2e, embedded store)', async () => {
  const dataDir = await migratedDataDir('ledger-unmatched-');
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('a refund delivered before its invoice: the customer is refunded within seconds of the invoice, hours before its backoff step, with no command run', async () => {
    const served = await startLedgerProcess(['serve'], { LEDGER_DATA_DIR: dataDir, LEDGER_UNMATCHED_RETRY_SECONDS: '3600' });
    try {
      const story = refundStory('served', Math.floor(Date.now() / 1000) - 3_600);
      const send = (event: Json) => {
        const { payload, headers } = signed(event, new Date());
        return fetch(`${served.url}/webhooks/stripe`, { method: 'POST', headers, body: payload });
      };
      const refund = await send(story.refund);
      assert.equal(((await refund.json()) as { facts: { outcome: string }[] }).facts[0]?.outcome, 'unmatched');
      for (const event of [story.subscription, story.paid]) assert.equal((await send(event)).status, 200);

      const deadline = Date.now() + 20_000;
      let lifecycle = '';
      while (Date.now() < deadline) {
        const response = await fetch(`${served.url}/v1/customers/stripe:${story.customer}`, { headers: { authorization: 'Bearer key-read' } });
        lifecycle = response.ok ? ((await response.json()) as { lifecycle: { state: string } }).lifecycle.state : String(response.status);
        if (lifecycle === 'refunded') break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.equal(lifecycle, 'refunded', served.output());
      // Woken by the invoice's arrival, and counted so.
      const metrics = parsePrometheusText(await (await fetch(`${served.url}/metrics`)).text());
      assert.equal(total(metrics, 'ledger_unmatched_retries_total', { outcome: 'matched', trigger: 'arrival' }), 1);
      assert.equal(total(metrics, 'ledger_unmatched_retries_total', { outcome: 'matched', trigger: 'backoff' }), 0);
    } finally {
      served.child.kill('SIGTERM');
      assert.equal(await served.exited, 0, served.output());
    }
  });
});

describe('unmatched deliveries across two processes on one PostgreSQL store (e2e)', async () => {
  const target = databaseTargets.find((candidate) => candidate.name === 'postgres')!;
  const skip = await target.skip();
  let t: TestApp;
  let other: { db: LedgerDatabase; app: FastifyInstance };
  before(async () => {
    if (skip) return;
    t = await startTestApp(target);
    // A second `ledger serve` on the same store: its own pool, its own app.
    const db = await openSecondPool(t.db, 4);
    other = { db, app: buildApp({ db, config: t.config, projector: createProjector(db, t.config) }) };
    await other.app.ready();
  });
  after(async () => {
    if (skip) return;
    await other.app.close();
    await other.db.close();
    await t.close();
  });

  test('a refund kept by one process is woken by its invoice appended by the other', { skip }, async () => {
    const { stop: stopHere, reports: here } = await startRetry(t.db, todaysSources(t.config), 60 * MINUTE);
    const { stop: stopThere, reports: there } = await startRetry(other.db, todaysSources(t.config), 60 * MINUTE);
    const stops = [stopHere, stopThere];
    try {
      const now = new Date();
      const story = refundStory('across', Math.floor(now.getTime() / 1000) - 3_600);
      const send = (app: FastifyInstance, event: Json) => app.inject({ method: 'POST', url: '/webhooks/stripe', ...signed(event, new Date()) });
      const kept = (await send(t.app, story.refund)).json();
      assert.equal(kept.facts[0].outcome, 'unmatched');
      // Announced: the other process now knows what it waits for.
      const heard = waitingClaimsOf(other.db.store);
      const deadline = Date.now() + 5_000;
      while (!heard.has('stripe_charge:ch_um_across') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.ok(heard.has('stripe_charge:ch_um_across'), 'not announced to the other process');

      for (const event of [story.subscription, story.paid]) assert.equal((await send(other.app, event)).statusCode, 200);
      const refunded = Date.now() + 10_000;
      let lifecycle: string | undefined;
      while (Date.now() < refunded) {
        const id = await t.db.store.resolveIdentity('stripe', story.customer);
        lifecycle = id ? (await loadCustomer(t.db.store, id)).state.lifecycle : undefined;
        if (lifecycle === 'refunded') break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(lifecycle, 'refunded', `here: ${here.join('; ')}; there: ${there.join('; ')}`);
      assert.ok(there.includes('arrival: 1 tried, 1 matched'), there.join('; '));
    } finally {
      for (const stop of stops) await stop();
    }
  });
});
