import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Telemetry } from '../../services/telemetry/activeTelemetry.ts';
import { startTelemetry } from '../../services/telemetry/telemetrySdk.ts';
import { databaseTargets } from '../support/databases.ts';
import { parsePrometheusText, total, type Sample } from '../support/prometheusText.ts';
import { fixture, type Json } from '../support/stripeEvents.ts';
import { signedStripeHeaders } from '../support/stripeSigning.ts';
import { startTestApp, type TestApp } from '../support/testApp.ts';

// One correlation id and one trace from a Stripe delivery to every read model, W3C trace
// context honoured or replaced, and the /metrics the alert rules read, on every store.

const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
before(() => {
  telemetry = startTelemetry({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
});
after(() => telemetry.stop());

const INBOUND_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const INBOUND_SPAN = '00f067aa0ba902b7';
let sequence = 0;

function invoicePaid(): Json {
  const event = fixture('invoice.paid');
  sequence += 1;
  event.id = `evt_telemetry_${Date.now().toString(36)}_${sequence}`;
  return event;
}

function deliver(t: TestApp, event: Json, headers: Record<string, string> = {}, secret?: string) {
  const payload = JSON.stringify(event);
  return t.app.inject({
    method: 'POST',
    url: '/webhooks/stripe',
    headers: { ...signedStripeHeaders(payload, secret ? { secret } : {}), ...headers },
    payload,
  });
}

// onResponse hooks (which end the request span) may run just after inject resolves.
const settled = () => new Promise((resolve) => setImmediate(resolve));

const named = (spans: ReadableSpan[], name: string): ReadableSpan => {
  const found = spans.filter((s) => s.name === name);
  assert.equal(found.length, 1, `one span named ${name}, got ${spans.map((s) => s.name).join(', ')}`);
  return found[0]!;
};
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

async function metrics(t: TestApp): Promise<Sample[]> {
  const response = await t.app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(response.statusCode, 200);
  assert.match(String(response.headers['content-type'] ?? ''), /^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(response.body);
}

async function storedTraceparents(t: TestApp, correlationId: string): Promise<string[]> {
  const { rows } = await t.db.sql.query<{ traceparent: string }>(
    `select metadata->>'traceparent' as traceparent from ledger_events where metadata->>'correlationId' = $1 order by position`,
    [correlationId],
  );
  return rows.map((r) => r.traceparent);
}

for (const target of databaseTargets) {
  describe(`telemetry on ${target.name} (e2e)`, () => {
    let t: TestApp;
    let skip: string | undefined;
    before(async () => {
      skip = await target.skip();
      if (!skip) t = await startTestApp(target);
    });
    after(() => t?.close());
    beforeEach(() => exporter.reset());

    test('one signed invoice.paid is one trace: delivery -> append -> crm, support and app projections', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const response = await deliver(t, invoicePaid());
      assert.equal(response.statusCode, 200, response.body);
      const correlationId = response.json().correlationId;
      await t.projector.catchUp();
      await settled();

      const spans = exporter.getFinishedSpans();
      assert.deepEqual(new Set(spans.map((s) => s.spanContext().traceId)).size, 1, 'a single trace');
      for (const span of spans) assert.equal(span.attributes['ledger.correlation_id'], correlationId, `${span.name} carries the correlation id`);

      const server = named(spans, 'POST /webhooks/stripe');
      const delivery = named(spans, 'ingest webhooks/stripe');
      const verify = named(spans, 'verify stripe signature');
      const fact = named(spans, 'process PaymentSucceeded');
      const append = named(spans, 'SELECT ledger_append');
      assert.equal(parentOf(server), undefined, 'no inbound traceparent: the request starts the trace');
      assert.equal(parentOf(delivery), server.spanContext().spanId);
      assert.equal(parentOf(verify), delivery.spanContext().spanId);
      assert.equal(parentOf(fact), delivery.spanContext().spanId);
      assert.equal(parentOf(append), fact.spanContext().spanId);
      for (const readModel of ['crm', 'support', 'app']) {
        const projection = named(spans, `project ${readModel}`);
        assert.equal(parentOf(projection), fact.spanContext().spanId, `${readModel} continues the fact's span`);
        assert.equal(projection.links.length, 0);
        assert.ok(Number(projection.attributes['ledger.projection.applied']) >= 1);
      }

      // Semantic conventions, and nothing that names a person or a secret.
      assert.equal(server.attributes['http.request.method'], 'POST');
      assert.equal(server.attributes['http.route'], '/webhooks/stripe');
      assert.equal(server.attributes['http.response.status_code'], 200);
      assert.equal(append.attributes['db.system.name'], 'postgresql');
      assert.equal(delivery.attributes['messaging.operation.type'], 'process');
      assert.equal(delivery.attributes['ledger.webhook.source'], 'stripe');
      assert.equal(fact.attributes['messaging.message.id'], response.json().facts[0].sourceEventId);
      const everyAttribute = JSON.stringify(spans.map((s) => s.attributes));
      assert.doesNotMatch(everyAttribute, /whsec_|stripe-signature|v1=|@|customer_email|Bearer/i);

      // The events keep the fact span's context: what a projector in another process continues.
      const fromFact = `00-${fact.spanContext().traceId}-${fact.spanContext().spanId}-01`;
      const stored = await storedTraceparents(t, correlationId);
      assert.ok(stored.length >= 1);
      for (const traceparent of stored) assert.equal(traceparent, fromFact);
    });

    test('an inbound traceparent is honoured', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const inbound = `00-${INBOUND_TRACE}-${INBOUND_SPAN}-01`;
      const response = await deliver(t, invoicePaid(), { traceparent: inbound, 'x-correlation-id': 'pay-run-42' });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['x-correlation-id'], 'pay-run-42');
      await t.projector.catchUp();
      await settled();
      const spans = exporter.getFinishedSpans();
      const server = named(spans, 'POST /webhooks/stripe');
      assert.equal(server.spanContext().traceId, INBOUND_TRACE);
      assert.equal(parentOf(server), INBOUND_SPAN);
      for (const span of spans) {
        assert.equal(span.spanContext().traceId, INBOUND_TRACE, `${span.name} joins the caller's trace`);
        assert.equal(span.attributes['ledger.correlation_id'], 'pay-run-42');
      }
      for (const traceparent of await storedTraceparents(t, 'pay-run-42')) assert.match(traceparent, new RegExp(`^00-${INBOUND_TRACE}-[0-9a-f]{16}-01$`));
    });

    test('a malformed traceparent is replaced, not trusted', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const malformed = [
        `00-${INBOUND_TRACE}-${INBOUND_SPAN}`,
        `00-00000000000000000000000000000000-${INBOUND_SPAN}-01`,
        `00-${INBOUND_TRACE}-0000000000000000-01`,
        `00-${INBOUND_TRACE.toUpperCase()}-${INBOUND_SPAN}-01`,
        `ff-${INBOUND_TRACE}-${INBOUND_SPAN}-01`,
        `00-${INBOUND_TRACE}-${INBOUND_SPAN}-01<script>`,
      ];
      for (const traceparent of malformed) {
        exporter.reset();
        const response = await deliver(t, invoicePaid(), { traceparent });
        assert.equal(response.statusCode, 200, traceparent);
        await settled();
        const server = named(exporter.getFinishedSpans(), 'POST /webhooks/stripe');
        assert.equal(parentOf(server), undefined, `${traceparent}: a new trace, not a child of the header`);
        assert.notEqual(server.spanContext().traceId, INBOUND_TRACE, traceparent);
        for (const stored of await storedTraceparents(t, response.json().correlationId)) {
          assert.match(stored, new RegExp(`^00-${server.spanContext().traceId}-[0-9a-f]{16}-01$`), traceparent);
        }
      }
      await t.projector.catchUp();
    });

    test('an app API command joins its request’s trace the same way', async (ctx) => {
      if (skip) return ctx.skip(skip);
      await t.projector.catchUp();
      exporter.reset();
      const response = await t.app.inject({
        method: 'POST',
        url: '/v1/leads',
        headers: { 'content-type': 'application/json', authorization: 'Bearer key-app', 'idempotency-key': `idem-${Date.now()}-${sequence}` },
        payload: JSON.stringify({ appUserId: `telemetry-${Date.now()}` }),
      });
      assert.ok(response.statusCode < 300, response.body);
      await t.projector.catchUp();
      await settled();
      const spans = exporter.getFinishedSpans();
      const server = named(spans, 'POST /v1/leads');
      const correlationId = response.headers['x-correlation-id'];
      for (const traceparent of await storedTraceparents(t, String(correlationId))) {
        assert.equal(traceparent, `00-${server.spanContext().traceId}-${server.spanContext().spanId}-01`);
      }
      assert.equal(parentOf(named(spans, 'SELECT ledger_append')), server.spanContext().spanId);
      assert.equal(parentOf(named(spans, 'project crm')), server.spanContext().spanId);
    });

    test('a batch serving several deliveries starts its own span and links each trace', async (ctx) => {
      if (skip) return ctx.skip(skip);
      const first = await deliver(t, invoicePaid());
      const second = await deliver(t, invoicePaid());
      await settled();
      const facts = exporter.getFinishedSpans().filter((s) => s.name === 'process PaymentSucceeded');
      assert.equal(facts.length, 2);
      await t.projector.catchUp();
      const crm = named(exporter.getFinishedSpans(), 'project crm');
      assert.equal(parentOf(crm), undefined, 'no single trace to continue');
      assert.deepEqual(
        crm.links.map((l) => l.context.spanId).sort(),
        facts.map((f) => f.spanContext().spanId).sort(),
        'a link to each delivery fact',
      );
      assert.deepEqual(
        crm.links.map((l) => l.attributes?.['ledger.correlation_id']).sort(),
        [first.json().correlationId, second.json().correlationId].sort(),
      );
      assert.deepEqual([...(crm.attributes['ledger.correlation_ids'] as string[])].sort(), [first.json().correlationId, second.json().correlationId].sort());
    });

    test('/metrics counts good and forged deliveries and their failure ratio, and sync latency per read model', async (ctx) => {
      if (skip) return ctx.skip(skip);
      await t.projector.catchUp();
      const before = await metrics(t);
      const good = Array.from({ length: 6 }, invoicePaid);
      for (const event of good) assert.equal((await deliver(t, event)).statusCode, 200);
      assert.equal((await deliver(t, good[0]!)).statusCode, 200, 'a re-delivery is a 2xx duplicate');
      for (let i = 0; i < 3; i += 1) assert.equal((await deliver(t, invoicePaid(), {}, 'whsec_forged')).statusCode, 400);
      const unsigned = JSON.stringify(invoicePaid());
      const missing = await t.app.inject({ method: 'POST', url: '/webhooks/stripe', headers: { 'content-type': 'application/json' }, payload: unsigned });
      assert.equal(missing.statusCode, 400);
      await t.projector.catchUp();
      await settled();
      const now = await metrics(t);

      const delta = (name: string, where: Record<string, string> = {}) => total(now, name, where) - total(before, name, where);
      const deliveries = 'ledger_webhook_deliveries_total';
      assert.equal(delta(deliveries, { source: 'stripe', outcome: 'appended' }), 6);
      assert.equal(delta(deliveries, { source: 'stripe', outcome: 'duplicate' }), 1);
      assert.equal(delta(deliveries, { source: 'stripe', outcome: 'rejected', code: 'LEDGER_SIGNATURE_INVALID' }), 3);
      assert.equal(delta(deliveries, { source: 'stripe', outcome: 'rejected', code: 'LEDGER_SIGNATURE_MISSING' }), 1);
      // What the failure-rate alert computes: (rejected + failed) / all.
      const failed = delta(deliveries, { source: 'stripe', outcome: 'rejected' }) + delta(deliveries, { source: 'stripe', outcome: 'failed' });
      assert.equal(failed / delta(deliveries, { source: 'stripe' }), 4 / 11);

      // Every appended event was observed once by each read model, every one of them from Stripe.
      const appended = delta('ledger_events_appended_total');
      assert.ok(appended >= 6);
      for (const readModel of ['crm', 'support', 'app']) {
        assert.equal(delta('ledger_projection_sync_latency_seconds_count', { read_model: readModel, source: 'stripe' }), appended, readModel);
        assert.ok(total(now, 'ledger_projection_sync_latency_seconds_bucket', { read_model: readModel, le: '+Inf' }) > 0);
        assert.equal(total(now, 'ledger_projection_lag_events', { read_model: readModel }), 0);
        assert.equal(total(now, 'ledger_projection_parked_events', { read_model: readModel }), 0);
      }
      assert.equal(delta('ledger_append_duration_seconds_count', { outcome: 'appended' }), 6);
    });
  });
}
