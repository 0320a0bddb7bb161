import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { domainEvent, type FactEvent } from '../../contracts/domainEvents.ts';
import { adminRouteDocs } from '../../services/admin/adminRouteDocs.ts';
import { listAudit, type AuditEntry } from '../../services/admin/auditLog.ts';
import { handleCommand } from '../../services/commands/handleCommand.ts';
import type { Projector } from '../../services/projector/projector.ts';
import { createProjector } from '../../services/projector/readModelRunners.ts';
import { databaseTargets } from '../support/databases.ts';
import { stripeFixture, signedStripeHeaders } from '../support/stripeSigning.ts';
import { startTestApp, type TestApp } from '../support/testApp.ts';

// /admin/…: timeline and time travel on a customer built from the signed Stripe fixtures,
// overrides and identities with their audit trail, parked events, projections, and the full
// RBAC matrix: every admin route x {no key, bad key, viewer, support, admin}.

const NOW = new Date('2026-03-10T12:00:00Z');
const KEYS = { none: null, bad: 'key-nobody-issued', viewer: 'key-viewer', support: 'key-support', admin: 'key-admin' } as const;
type Caller = keyof typeof KEYS;
const fingerprint = (key: string) => `apikey:${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;

type Method = 'GET' | 'POST';
const call = (t: TestApp, method: Method, url: string, caller: Caller, payload?: object) => {
  const key = KEYS[caller];
  const headers: Record<string, string> = key === null ? {} : { authorization: `Bearer ${key}` };
  return payload === undefined ? t.app.inject({ method, url, headers }) : t.app.inject({ method, url, headers, payload });
};

// One Stripe customer's life, as Stripe would send it: trial, paid, past due, refunded.
function stripeLife(customer: string): Record<string, unknown>[] {
  const sub = `sub_${customer}`;
  const charge = `ch_${customer}`;
  const t0 = 1_772_000_000;
  const subscription = (type: string, status: string, created: number, id: string) => {
    const event = stripeFixture('customer.subscription.updated');
    Object.assign(event.data.object, { id: sub, customer, status, trial_end: status === 'trialing' ? t0 + 1_209_600 : null });
    if (type === 'customer.subscription.created') delete event.previous_attributes;
    return { ...event, type, id, created };
  };
  const invoice = (type: string, created: number, id: string, chargeId: string) => {
    const event = stripeFixture(type);
    Object.assign(event.data.object, { id: `in_${id}`, customer, subscription: sub, charge: chargeId, payment_intent: `pi_${id}` });
    return { ...event, id, created };
  };
  const refund = stripeFixture('charge.refunded');
  Object.assign(refund.data.object, { id: charge, customer, amount: 2000, amount_refunded: 2000 });
  return [
    subscription('customer.subscription.created', 'trialing', t0, `evt_${customer}_1`),
    invoice('invoice.paid', t0 + 100, `evt_${customer}_2`, charge),
    subscription('customer.subscription.updated', 'active', t0 + 100, `evt_${customer}_3`),
    invoice('invoice.payment_failed', t0 + 200, `evt_${customer}_4`, `${charge}_2`),
    { ...refund, id: `evt_${customer}_5`, created: t0 + 300 },
  ];
}

async function deliver(t: TestApp, event: Record<string, unknown>): Promise<string> {
  const payload = JSON.stringify(event);
  const res = await t.app.inject({ method: 'POST', url: '/webhooks/stripe', headers: signedStripeHeaders(payload, { timestamp: NOW.getTime() / 1000 }), payload });
  assert.equal(res.statusCode, 200, res.body);
  return String(res.headers['x-correlation-id']);
}

let people = 0;
// A customer through the real command path: `active` (trial, then paid) or `needs_review` (a
// refund for a lead).
async function customerIn(t: TestApp, lifecycle: 'active' | 'needs_review'): Promise<string> {
  people += 1;
  const at = (s: number) => `2026-03-01T10:00:0${s}Z`;
  const sub = `sub_p${people}`;
  const facts: FactEvent[] =
    lifecycle === 'active'
      ? [
          domainEvent('TrialStarted', { occurredAt: at(1), subscriptionId: sub, plan: { priceId: 'price_pro' } }),
          domainEvent('SubscriptionActivated', { occurredAt: at(2), subscriptionId: sub, plan: { priceId: 'price_pro' }, mrrCents: 4900, currency: 'usd' }),
        ]
      : [
          domainEvent('LeadCaptured', { occurredAt: at(1), email: `p${people}@example.com` }),
          domainEvent('RefundIssued', { occurredAt: at(2), chargeId: `ch_p${people}`, chargeAmountCents: 900, refundedAmountCents: 900, currency: 'usd' }),
        ];
  let customerId = '';
  for (const [i, fact] of facts.entries()) {
    const result = await handleCommand(
      { store: t.db.store, now: () => NOW },
      {
        command: { type: 'RecordFact', fact },
        identities: [{ kind: 'app', externalId: `user_p${people}` }],
        createIfMissing: true,
        metadata: { source: 'app', sourceEventId: `p${people}-${i}`, correlationId: `corr-p${people}-${i}` },
      },
    );
    customerId = result.customerId;
  }
  return customerId;
}

// An event no read model can apply (stored by a writer with a bug), and a good one behind it:
// parked as 'failed' and 'held' in each read model.
async function poisonedCustomer(t: TestApp, projector: Projector): Promise<string> {
  const customerId = await customerIn(t, 'active');
  const metadata = { customerId, occurredAt: '2026-03-01T11:00:00Z', source: 'stripe' as const, correlationId: `poison-${customerId}` };
  await t.db.store.append(`customer-${customerId}`, [{ type: 'PaymentSucceeded', schemaVersion: 2, data: { amountCents: 'lots' }, metadata }], { expectedVersion: 'any' });
  await t.db.store.append(
    `customer-${customerId}`,
    [{ ...domainEvent('CrmPropertyChanged', { occurredAt: '2026-03-01T11:00:01Z', property: 'owner', value: 'sam' }), metadata }],
    { expectedVersion: 'any' },
  );
  await projector.catchUp();
  return customerId;
}

async function parkedIdsOf(t: TestApp, customerId: string, reason: 'failed' | 'held' = 'failed'): Promise<string[]> {
  const { rows } = await t.db.sql.query<{ id: string }>(
    `select id::text as id from ledger_parked_events where customer_id = $1 and reason = $2 and status = 'parked' order by projection`,
    [customerId, reason],
  );
  return rows.map((r) => r.id);
}

async function auditByCorrelation(t: TestApp): Promise<Map<string, AuditEntry>> {
  const { entries } = await listAudit(t.db.sql, { limit: 1000 });
  return new Map(entries.map((entry) => [entry.correlationId ?? '', entry]));
}

for (const target of databaseTargets) {
  describe(`admin API on ${target.name} (e2e)`, async () => {
    const skip = await target.skip();
    let t: TestApp;
    // Parks on the first failure, so a poisoned event is parked in one catch-up.
    let projector: Projector;
    before(async () => {
      if (skip) return;
      t = await startTestApp(target, { now: () => NOW });
      projector = createProjector(t.db, t.config, undefined, { maxAttempts: 1 });
    });
    after(async () => {
      await t?.close();
    });

    describe('a customer built from the Stripe fixtures', () => {
      const customer = 'cus_adminTimeline';
      let correlations: string[] = [];
      before(async () => {
        if (skip) return;
        correlations = [];
        for (const event of stripeLife(customer)) correlations.push(await deliver(t, event));
      });

      test('timeline: facts and decisions, sources, ids, correlation and the state after each', { skip }, async () => {
        const res = await call(t, 'GET', `/admin/customers/stripe:${customer}/timeline`, 'viewer');
        assert.equal(res.statusCode, 200, res.body);
        const timeline = res.json();
        const rows = timeline.entries.map((e: { type: string; kind: string; lifecycleAfter: string }) => [e.type, e.kind, e.lifecycleAfter]);
        assert.deepEqual(
          rows.filter(([type]: string[]) => type !== 'IdentityLinked'),
          [
            ['TrialStarted', 'fact', 'lead'],
            ['LifecycleChanged', 'decision', 'trial'],
            ['PaymentSucceeded', 'fact', 'trial'],
            ['LifecycleChanged', 'decision', 'active'],
            ['SubscriptionChanged', 'fact', 'active'],
            ['PaymentFailed', 'fact', 'active'],
            ['LifecycleChanged', 'decision', 'past_due'],
            ['RefundIssued', 'fact', 'past_due'],
            ['LifecycleChanged', 'decision', 'refunded'],
          ],
        );
        assert.equal(timeline.lifecycle, 'refunded');
        const facts = timeline.entries.filter((e: { kind: string; type: string }) => e.kind === 'fact' && e.type !== 'IdentityLinked');
        assert.deepEqual(
          facts.map((e: { sourceEventId: string }) => e.sourceEventId),
          [1, 2, 3, 4, 5].map((n) => `evt_${customer}_${n}`),
        );
        assert.ok(facts.every((e: { source: string }) => e.source === 'stripe'));
        // The correlation id each delivery was answered with is on its facts and their decisions.
        assert.deepEqual(
          facts.map((e: { correlationId: string }) => e.correlationId),
          correlations,
        );
        assert.equal(Date.parse(facts[0].occurredAt), 1_772_000_000 * 1000);
        assert.ok(timeline.entries.every((e: { recordedAt: string }) => !Number.isNaN(Date.parse(e.recordedAt))));
        // The same customer by our id and by e-mail-less refs.
        const byId = await call(t, 'GET', `/admin/customers/${timeline.customerId}/timeline`, 'viewer');
        assert.deepEqual(byId.json(), timeline);
      });

      test('state at a version and at a recorded time, with the read-model views then', { skip }, async () => {
        const timeline = (await call(t, 'GET', `/admin/customers/stripe:${customer}/timeline`, 'viewer')).json();
        const paidDecision = timeline.entries.find((e: { summary: string }) => e.summary.startsWith('trial → active'));
        const byVersion = await call(t, 'GET', `/admin/customers/stripe:${customer}/state?at=${paidDecision.version}`, 'viewer');
        assert.equal(byVersion.statusCode, 200, byVersion.body);
        assert.equal(byVersion.json().state.lifecycle, 'active');
        assert.equal(byVersion.json().views.app.access, 'full');
        assert.equal(byVersion.json().views.crm.stage, 'customer');

        const refund = timeline.entries.find((e: { type: string }) => e.type === 'RefundIssued');
        const justBefore = new Date(Date.parse(refund.recordedAt) - 1).toISOString();
        const beforeRefund = (await call(t, 'GET', `/admin/customers/stripe:${customer}/state?at=${justBefore}`, 'viewer')).json();
        assert.equal(beforeRefund.state.lifecycle, 'past_due');
        assert.equal(beforeRefund.views.support.billingStatus, 'past_due');
        assert.ok(beforeRefund.asOf.version < refund.version);

        const now = (await call(t, 'GET', `/admin/customers/stripe:${customer}/state`, 'viewer')).json();
        assert.equal(now.state.lifecycle, 'refunded');
        assert.equal(now.views.app.access, 'none');
        assert.equal(now.asOf.version, timeline.version);

        const tooEarly = await call(t, 'GET', `/admin/customers/stripe:${customer}/state?at=2000-01-01T00:00:00Z`, 'viewer');
        assert.equal(tooEarly.statusCode, 404);
        assert.equal((await call(t, 'GET', `/admin/customers/stripe:${customer}/state?at=soon`, 'viewer')).statusCode, 400);
      });
    });

    describe('overrides and identities: events with actor, role and reason, and audited', () => {
      test('admin sets the state: in the timeline with actor and reason, and in the audit log', { skip }, async () => {
        const customerId = await customerIn(t, 'active');
        const reason = 'Customer paid by bank transfer; Stripe shows nothing';
        const res = await call(t, 'POST', `/admin/customers/${customerId}/overrides`, 'admin', { action: 'set_state', to: 'past_due', reason });
        assert.equal(res.statusCode, 200, res.body);
        assert.deepEqual(res.json().events, ['ManualOverrideApplied', 'LifecycleChanged']);
        assert.equal(res.json().lifecycle, 'past_due');

        const timeline = (await call(t, 'GET', `/admin/customers/${customerId}/timeline`, 'viewer')).json();
        const override = timeline.entries.find((e: { type: string }) => e.type === 'ManualOverrideApplied');
        assert.deepEqual(override.actor, { id: fingerprint('key-admin'), role: 'admin' });
        assert.equal(override.data.reason, reason);
        assert.equal(override.source, 'admin');
        assert.equal(override.correlationId, res.headers['x-correlation-id']);
        assert.equal(timeline.entries.at(-1).lifecycleAfter, 'past_due');

        const audit = (await call(t, 'GET', `/admin/audit?target=${customerId}`, 'admin')).json();
        const entry = audit.entries.find((e: AuditEntry) => e.route === '/admin/customers/:ref/overrides');
        assert.equal(entry.reason, reason);
        assert.equal(entry.principal, fingerprint('key-admin'));
        assert.equal(entry.role, 'admin');
        assert.equal(entry.status, 200);
        assert.equal(entry.detail.action, 'set_state');
      });

      test('support resolves a review but may not set a state; a viewer may do neither', { skip }, async () => {
        const customerId = await customerIn(t, 'needs_review');
        const stream = `customer-${customerId}`;
        const before = await t.db.store.streamVersion(stream);
        const refused = await call(t, 'POST', `/admin/customers/${customerId}/overrides`, 'support', { action: 'set_state', to: 'active', reason: 'Looks fine to me' });
        assert.equal(refused.statusCode, 403);
        assert.equal(refused.json().code, 'LEDGER_FORBIDDEN');
        const viewer = await call(t, 'POST', `/admin/customers/${customerId}/overrides`, 'viewer', { action: 'resolve_review', reason: 'Looks fine to me' });
        assert.equal(viewer.statusCode, 403);
        assert.equal(await t.db.store.streamVersion(stream), before, 'a refused override appends nothing');

        const resolved = await call(t, 'POST', `/admin/customers/${customerId}/overrides`, 'support', { action: 'resolve_review', reason: 'Refund was a duplicate test charge' });
        assert.equal(resolved.statusCode, 200, resolved.body);
        assert.deepEqual(resolved.json().events, ['ManualOverrideApplied', 'ReviewResolved', 'LifecycleChanged']);
        assert.equal(resolved.json().lifecycle, 'lead');
        const timeline = (await call(t, 'GET', `/admin/customers/${customerId}/timeline`, 'viewer')).json();
        const override = timeline.entries.find((e: { type: string }) => e.type === 'ManualOverrideApplied');
        assert.deepEqual(override.actor, { id: fingerprint('key-support'), role: 'support' });

        const audit = await auditByCorrelation(t);
        assert.equal(audit.get(String(refused.headers['x-correlation-id']))?.status, 403);
        assert.equal(audit.get(String(refused.headers['x-correlation-id']))?.reason, 'Looks fine to me');
        assert.equal(audit.get(String(resolved.headers['x-correlation-id']))?.reason, 'Refund was a duplicate test charge');
      });

      test('an override needs a reason, a real customer and a real change', { skip }, async () => {
        const customerId = await customerIn(t, 'active');
        const noReason = await call(t, 'POST', `/admin/customers/${customerId}/overrides`, 'admin', { action: 'set_state', to: 'canceled', reason: '  ' });
        assert.equal(noReason.statusCode, 400);
        const same = await call(t, 'POST', `/admin/customers/${customerId}/overrides`, 'admin', { action: 'set_state', to: 'active', reason: 'again' });
        assert.equal(same.statusCode, 409);
        assert.equal(same.json().code, 'LEDGER_ILLEGAL_STATE');
        const nobody = await call(t, 'POST', '/admin/customers/cust_nobodyAtAll1/overrides', 'admin', { action: 'set_state', to: 'active', reason: 'typo' });
        assert.equal(nobody.statusCode, 404);
        assert.equal(await t.db.store.streamVersion('customer-cust_nobodyAtAll1'), undefined, 'no stream started for a mistyped id');
        const extra = await call(t, 'POST', `/admin/customers/${customerId}/overrides`, 'admin', { action: 'set_state', to: 'canceled', reason: 'x', force: true });
        assert.equal(extra.statusCode, 400);
      });

      test('link and unlink an identity: the ref follows, the timeline shows who and why', { skip }, async () => {
        const customerId = await customerIn(t, 'active');
        const other = await customerIn(t, 'active');
        const link = await call(t, 'POST', `/admin/customers/${customerId}/identities`, 'admin', { action: 'link', kind: 'stripe', externalId: 'cus_linkedByHand', reason: 'Same person, second card' });
        assert.equal(link.statusCode, 200, link.body);
        assert.deepEqual(link.json().events, ['IdentityLinked']);
        assert.equal((await call(t, 'GET', '/admin/customers/stripe:cus_linkedByHand/timeline', 'viewer')).json().customerId, customerId);

        const stolen = await call(t, 'POST', `/admin/customers/${other}/identities`, 'admin', { action: 'link', kind: 'stripe', externalId: 'cus_linkedByHand', reason: 'mistake' });
        assert.equal(stolen.statusCode, 409);
        assert.equal(stolen.json().code, 'LEDGER_IDENTITY_CONFLICT');
        const twice = await call(t, 'POST', `/admin/customers/${customerId}/identities`, 'admin', { action: 'link', kind: 'stripe', externalId: 'cus_linkedByHand', reason: 'again' });
        assert.equal(twice.statusCode, 409);

        const unlink = await call(t, 'POST', `/admin/customers/stripe:cus_linkedByHand/identities`, 'admin', { action: 'unlink', kind: 'stripe', externalId: 'cus_linkedByHand', reason: 'Card belongs to a colleague' });
        assert.equal(unlink.statusCode, 200, unlink.body);
        assert.equal((await call(t, 'GET', '/admin/customers/stripe:cus_linkedByHand/timeline', 'viewer')).statusCode, 404);
        const timeline = (await call(t, 'GET', `/admin/customers/${customerId}/timeline`, 'viewer')).json();
        const unlinked = timeline.entries.find((e: { type: string }) => e.type === 'IdentityUnlinked');
        assert.equal(unlinked.data.reason, 'Card belongs to a colleague');
        assert.deepEqual(unlinked.actor, { id: fingerprint('key-admin'), role: 'admin' });
        assert.ok(!timeline.identities.some((i: { externalId: string }) => i.externalId === 'cus_linkedByHand'));

        // Released: another customer may now claim it.
        const relinked = await call(t, 'POST', `/admin/customers/${other}/identities`, 'admin', { action: 'link', kind: 'stripe', externalId: 'cus_linkedByHand', reason: 'Now theirs' });
        assert.equal(relinked.statusCode, 200, relinked.body);
      });
    });

    describe('parked events and projections', () => {
      test('a poisoned event is listed, retried (still failing), skipped with a reason; what it held is drained', { skip }, async () => {
        const customerId = await poisonedCustomer(t, projector);
        const listed = (await call(t, 'GET', '/admin/parked', 'viewer')).json().parked.filter((p: { customerId: string }) => p.customerId === customerId);
        assert.deepEqual(
          listed.map((p: { projection: string; reason: string }) => `${p.projection}:${p.reason}`).sort(),
          ['app:failed', 'app:held', 'crm:failed', 'crm:held', 'support:failed', 'support:held'],
        );
        assert.match(listed[0].error, /PaymentSucceeded/);
        // The engineer can still read the stream that holds the poison.
        const timeline = await call(t, 'GET', `/admin/customers/${customerId}/timeline`, 'viewer');
        assert.equal(timeline.statusCode, 200);
        assert.match(timeline.json().entries.find((e: { type: string; correlationId: string }) => e.correlationId.startsWith('poison') && e.type === 'PaymentSucceeded').summary, /^unreadable: /);

        const [failed] = await parkedIdsOf(t, customerId);
        const failedIn = listed.find((p: { id: string }) => p.id === failed).projection;
        const retried = await call(t, 'POST', '/admin/parked/retry', 'admin', { ids: [failed] });
        assert.equal(retried.statusCode, 200, retried.body);
        assert.deepEqual(retried.json().drained.map((d: { applied: number; stillParked: number }) => [d.applied, d.stillParked]), [[0, 2]]);

        const skipped = await call(t, 'POST', `/admin/parked/${failed}/skip`, 'admin', { reason: 'Writer bug, fixed in 1.4.2; payment re-sent' });
        assert.equal(skipped.statusCode, 200, skipped.body);
        assert.deepEqual(skipped.json().drained.map((d: { applied: number; stillParked: number }) => [d.applied, d.stillParked]), [[1, 0]]);
        const { rows } = await t.db.sql.query<{ status: string; resolved_by: string; resolution_reason: string }>(
          'select status, resolved_by, resolution_reason from ledger_parked_events where id = $1::bigint',
          [failed],
        );
        assert.deepEqual(rows[0], { status: 'skipped', resolved_by: fingerprint('key-admin'), resolution_reason: 'Writer bug, fixed in 1.4.2; payment re-sent' });
        assert.equal((await call(t, 'POST', `/admin/parked/${failed}/skip`, 'admin', { reason: 'again' })).statusCode, 409);
        assert.equal((await call(t, 'POST', '/admin/parked/99999999/skip', 'admin', { reason: 'none such' })).statusCode, 404);
        const audit = await auditByCorrelation(t);
        assert.equal(audit.get(String(skipped.headers['x-correlation-id']))?.reason, 'Writer bug, fixed in 1.4.2; payment re-sent');

        const all = await call(t, 'POST', '/admin/parked/retry', 'admin', { all: true });
        assert.equal(all.statusCode, 200);
        assert.deepEqual(
          all.json().drained.filter((d: { customerId: string }) => d.customerId === customerId).map((d: { projection: string }) => d.projection).sort(),
          ['app', 'crm', 'support'].filter((name) => name !== failedIn),
        );
      });

      test('status of each read model; a rebuild answers when swapped', { skip }, async () => {
        await t.projector.catchUp();
        const status = await call(t, 'GET', '/admin/projections', 'viewer');
        assert.equal(status.statusCode, 200);
        assert.deepEqual(status.json().projections.map((p: { name: string }) => p.name).sort(), ['app', 'crm', 'support']);
        const rebuilt = await call(t, 'POST', '/admin/projections/support/rebuild', 'admin');
        assert.equal(rebuilt.statusCode, 200, rebuilt.body);
        assert.equal(rebuilt.json().readModel, 'support');
        assert.ok(rebuilt.json().events > 0);
        assert.equal((await call(t, 'POST', '/admin/projections/billing/rebuild', 'admin')).statusCode, 400);
      });
    });

    describe('RBAC: every admin route x {no key, bad key, viewer, support, admin}', () => {
      type Expected = Record<Caller, number>;
      const reads: Expected = { none: 401, bad: 401, viewer: 200, support: 200, admin: 200 };
      const adminOnly: Expected = { none: 401, bad: 401, viewer: 403, support: 403, admin: 200 };
      interface Row {
        method: Method;
        route: string;
        label?: string;
        expected: Expected;
        // A fresh target per call: a success must not change what the next caller meets.
        request(): Promise<{ url: string; payload?: object }>;
      }
      const rows: Row[] = [
        { method: 'GET', route: '/admin/customers', expected: reads, request: async () => ({ url: '/admin/customers?limit=5' }) },
        { method: 'GET', route: '/admin/customers/:ref/timeline', expected: reads, request: async () => ({ url: `/admin/customers/${await customerIn(t, 'active')}/timeline` }) },
        { method: 'GET', route: '/admin/customers/:ref/state', expected: reads, request: async () => ({ url: `/admin/customers/${await customerIn(t, 'active')}/state?at=1` }) },
        {
          method: 'POST',
          route: '/admin/customers/:ref/overrides',
          label: 'set_state',
          expected: adminOnly,
          request: async () => ({ url: `/admin/customers/${await customerIn(t, 'active')}/overrides`, payload: { action: 'set_state', to: 'canceled', reason: 'Asked to close' } }),
        },
        {
          method: 'POST',
          route: '/admin/customers/:ref/overrides',
          label: 'resolve_review',
          expected: { none: 401, bad: 401, viewer: 403, support: 200, admin: 200 },
          request: async () => ({ url: `/admin/customers/${await customerIn(t, 'needs_review')}/overrides`, payload: { action: 'resolve_review', reason: 'Checked with billing' } }),
        },
        {
          method: 'POST',
          route: '/admin/customers/:ref/identities',
          expected: adminOnly,
          request: async () => {
            const customerId = await customerIn(t, 'active');
            return { url: `/admin/customers/${customerId}/identities`, payload: { action: 'link', kind: 'crm', externalId: `crm-${customerId}`, reason: 'Same person' } };
          },
        },
        { method: 'GET', route: '/admin/parked', expected: reads, request: async () => ({ url: '/admin/parked' }) },
        {
          method: 'POST',
          route: '/admin/parked/retry',
          expected: adminOnly,
          request: async () => ({ url: '/admin/parked/retry', payload: { ids: await parkedIdsOf(t, await poisonedCustomer(t, projector)) } }),
        },
        {
          method: 'POST',
          route: '/admin/parked/:id/skip',
          expected: adminOnly,
          request: async () => {
            const [id] = await parkedIdsOf(t, await poisonedCustomer(t, projector));
            return { url: `/admin/parked/${id}/skip`, payload: { reason: 'Known bad write' } };
          },
        },
        { method: 'GET', route: '/admin/projections', expected: reads, request: async () => ({ url: '/admin/projections' }) },
        { method: 'POST', route: '/admin/projections/:name/rebuild', expected: adminOnly, request: async () => ({ url: '/admin/projections/app/rebuild' }) },
        { method: 'GET', route: '/admin/audit', expected: adminOnly, request: async () => ({ url: '/admin/audit?limit=5' }) },
      ];

      test('the matrix covers every documented admin route', () => {
        const covered = new Set(rows.map((row) => `${row.method} ${row.route}`));
        assert.deepEqual(
          adminRouteDocs.map((doc) => `${doc.method} ${doc.url}`).filter((route) => !covered.has(route)),
          [],
        );
      });

      for (const row of rows) {
        test(`${row.method} ${row.route}${row.label ? ` (${row.label})` : ''}`, { skip }, async () => {
          const seen: Partial<Record<Caller, number>> = {};
          const correlationIds: Partial<Record<Caller, string>> = {};
          for (const caller of Object.keys(KEYS) as Caller[]) {
            const { url, payload } = await row.request();
            const res = await call(t, row.method, url, caller, payload);
            seen[caller] = res.statusCode;
            correlationIds[caller] = String(res.headers['x-correlation-id']);
            if (res.statusCode === 401) assert.match(String(res.headers['www-authenticate']), /^Bearer /);
          }
          assert.deepEqual(seen, row.expected);

          // Every answer, refused or not, left its audit row, naming the key when one was known.
          const audit = await auditByCorrelation(t);
          for (const caller of Object.keys(KEYS) as Caller[]) {
            const entry = audit.get(correlationIds[caller]!);
            assert.ok(entry, `${caller}: no audit entry`);
            assert.equal(entry.status, row.expected[caller], caller);
            assert.equal(entry.route, row.route, caller);
            assert.equal(entry.method, row.method, caller);
            const key = KEYS[caller];
            const known = key !== null && caller !== 'bad';
            assert.equal(entry.principal, known ? fingerprint(key) : null, caller);
            assert.equal(entry.role, known ? caller : null, caller);
            if (row.route.endsWith('/overrides') && entry.status === 200) assert.ok(entry.reason, 'an override is audited with its reason');
          }
        });
      }
    });
  });
}
