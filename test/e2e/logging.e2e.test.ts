import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../services/config.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { buildApp } from '../../services/http/app.ts';
import type { Telemetry } from '../../services/telemetry/activeTelemetry.ts';
import { createLogger } from '../../services/telemetry/logger.ts';
import { startTelemetry } from '../../services/telemetry/telemetrySdk.ts';
import { databaseTargets } from '../support/databases.ts';
import { fixture } from '../support/stripeEvents.ts';
import { signedStripeHeaders } from '../support/stripeSigning.ts';
import { TEST_ENV } from '../support/testApp.ts';

// The service's own log lines, captured as JSON: each carries its request's correlation id (and
// trace id), and none carries a signature, a secret, card data or an e-mail address.

const CARD_NUMBER = '4242424242424242';
const CARD_FINGERPRINT = 'Xt5EWLLDS7FJjR1c';
const EMAIL = 'ann.customer@example.com';

describe('service logs (e2e)', () => {
  const exporter = new InMemorySpanExporter();
  const lines: string[] = [];
  let telemetry: Telemetry;
  let db: LedgerDatabase;
  let app: FastifyInstance;

  before(async () => {
    telemetry = startTelemetry({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    db = await databaseTargets[0]!.open();
    const config = loadConfig({ ...TEST_ENV, LOG_LEVEL: 'info' });
    app = buildApp({ db, config, logger: createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } }) });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await db.close();
    await telemetry.stop();
  });

  test('every line carries the correlation id; no signature, secret, card data or e-mail', async () => {
    const event = fixture('invoice.paid');
    event.id = 'evt_logging_1';
    // What a careless log call could leak: card data and an e-mail in the payload.
    event.data.object.customer_email = EMAIL;
    event.data.object.payment_method_details = { card: { number: CARD_NUMBER, last4: '4242', fingerprint: CARD_FINGERPRINT } };
    const payload = JSON.stringify(event);
    const signed = signedStripeHeaders(payload);
    const good = await app.inject({ method: 'POST', url: '/webhooks/stripe', headers: signed, payload });
    assert.equal(good.statusCode, 200, good.body);
    const forgedHeaders = signedStripeHeaders(payload, { secret: 'whsec_attacker_guess' });
    const forged = await app.inject({ method: 'POST', url: '/webhooks/stripe', headers: forgedHeaders, payload });
    assert.equal(forged.statusCode, 400);
    const lookup = await app.inject({ method: 'GET', url: `/v1/customers/email:${EMAIL}?token=abc`, headers: { authorization: 'Bearer key-read' } });
    assert.ok(lookup.statusCode < 500);
    // The bare address, as the CLI takes it: its path must not carry it into the log either.
    const bare = await app.inject({ method: 'GET', url: `/v1/customers/${encodeURIComponent(EMAIL)}`, headers: { authorization: 'Bearer key-read' } });
    assert.ok(bare.statusCode < 500);
    await new Promise((resolve) => setImmediate(resolve));

    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.ok(records.length >= 6, `request lines were written (${records.length})`);
    const ids = new Set([good.headers['x-correlation-id'], forged.headers['x-correlation-id'], lookup.headers['x-correlation-id'], bare.headers['x-correlation-id']]);
    for (const record of records) {
      assert.ok(ids.has(String(record.correlationId)), `a correlation id on: ${JSON.stringify(record)}`);
    }
    // Lines written inside the request's span lead to its trace.
    const traced = records.filter((r) => r.msg === 'request completed' || r.msg === 'request rejected');
    assert.ok(traced.length >= 2);
    for (const record of traced) assert.match(String(record.traceId), /^[0-9a-f]{32}$/);

    const all = lines.join('\n');
    for (const secret of [signed['stripe-signature']!, forgedHeaders['stripe-signature']!, 'whsec_test', 'whsec_attacker', 'key-read', CARD_NUMBER, CARD_FINGERPRINT, EMAIL, encodeURIComponent(EMAIL), 'token=abc']) {
      assert.ok(!all.includes(secret), `no log line contains ${secret.slice(0, 12)}…`);
    }
    assert.ok(all.includes('/v1/customers/email:[redacted]'), 'the lookup is logged with its reference masked');
  });

  test('redaction holds wherever a caller puts a secret', () => {
    const captured: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void captured.push(line) } });
    logger.info(
      {
        req: { headers: { authorization: 'Bearer key-admin', 'stripe-signature': 't=1,v1=abc' } },
        body: { card: CARD_NUMBER },
        delivery: { payload: EMAIL, secret: 'whsec_x' },
        config: { webhooks: { stripeSecrets: ['whsec_y'] } },
      },
      'careless',
    );
    const line = captured.join('');
    for (const secret of ['key-admin', 't=1,v1=abc', CARD_NUMBER, EMAIL, 'whsec_x', 'whsec_y']) assert.ok(!line.includes(secret), secret);
    assert.match(line, /\[redacted\]/);
  });
});
