import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { databaseTargets, storedEvents } from '../support/databases.ts';
import { signedStripeHeaders, stripeFixture } from '../support/stripeSigning.ts';
import { createLogger } from '../../services/telemetry/logger.ts';
import { startTestApp, type TestApp } from '../support/testApp.ts';

// LEDGER_WEBHOOK_MAX_IN_FLIGHT: past the limit a delivery is refused at once with a retryable
// 503 (nothing stored), and a slot comes back when a delivery ends, however it ends.

const pglite = databaseTargets.find((t) => t.name === 'pglite')!;

function delivery(id: string) {
  const event = stripeFixture('customer.created');
  const body = JSON.stringify({ ...event, id, data: { object: { ...event.data.object, id: `cus_${id}`, email: `${id}@example.com` } } });
  return { body, headers: { ...signedStripeHeaders(body), 'content-type': 'application/json' } };
}

// A request whose headers have arrived and whose body never does: in flight until the socket closes.
async function stalledRequest(port: number, path: string, headers: Record<string, string>, body: string): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const head = Object.entries({ ...headers, host: `127.0.0.1:${port}`, 'content-length': String(Buffer.byteLength(body)) })
    .map(([name, value]) => `${name}: ${value}`)
    .join('\r\n');
  socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n\r\n${body.slice(0, 10)}`);
  return socket;
}

async function stalledDelivery(port: number): Promise<Socket> {
  const { body, headers } = delivery('evt_stalled');
  return stalledRequest(port, '/webhooks/stripe', headers, body);
}

const leadHeaders = (key: string) => ({ authorization: 'Bearer key-app', 'idempotency-key': key, 'content-type': 'application/json' });

describe('webhook load shedding', () => {
  let t: TestApp;
  let url: string;
  const logLines: string[] = [];
  before(async () => {
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void logLines.push(line) } });
    t = await startTestApp(pglite, { env: { LEDGER_WEBHOOK_MAX_IN_FLIGHT: '1' }, logger });
    url = await t.app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(() => t.close());

  const post = async (id: string) => {
    const { body, headers } = delivery(id);
    const response = await fetch(`${url}/webhooks/stripe`, { method: 'POST', headers, body });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), problem: (await response.json()) as { code?: string } };
  };

  test('past the limit: 503 LEDGER_OVERLOADED with Retry-After, nothing stored; a slot frees when a client hangs up', async () => {
    const port = Number(new URL(url).port);
    const stalled = await stalledDelivery(port);
    // The stalled delivery holds the only slot.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const refused = await post('evt_refused');
    assert.equal(refused.status, 503);
    assert.equal(refused.retryAfter, '1');
    assert.equal(refused.problem.code, 'LEDGER_OVERLOADED');
    assert.equal((await storedEvents(t.db)).length, 0);
    // An expected answer under load, logged as a rejection: no error line, no stack.
    const refusals = logLines.map((line) => JSON.parse(line) as { level: number; code?: string; msg: string; err?: unknown }).filter((r) => r.code === 'LEDGER_OVERLOADED');
    assert.deepEqual(
      refusals.map((r) => [r.level, r.msg, r.err]),
      [[30, 'request rejected', undefined]],
    );

    stalled.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The provider's retry gets through, and each finished delivery gives its slot back.
    assert.equal((await post('evt_refused')).status, 200);
    assert.equal((await post('evt_next')).status, 200);
    const customers = new Set((await storedEvents(t.db)).map((e) => e.streamId));
    assert.equal(customers.size, 2);
  });
  test('the app API sheds load the same way: a second lead past the limit gets 503, its retry with the same key gets the lead', async (context) => {
    const port = Number(new URL(url).port);
    const stalled = await stalledRequest(port, '/v1/leads', leadHeaders('lead-stalled'), JSON.stringify({ email: 'stalled@example.com' }));
    // A failed assertion must not leave the request open: closing the app would wait for it.
    context.after(() => void stalled.destroy());
    await new Promise((resolve) => setTimeout(resolve, 100));
    const lead = () => fetch(`${url}/v1/leads`, { method: 'POST', headers: leadHeaders('lead-refused'), body: JSON.stringify({ email: 'refused@example.com' }) });
    const refused = await lead();
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal(((await refused.json()) as { code?: string }).code, 'LEDGER_OVERLOADED');
    // A client generated from the OpenAPI document knows this answer.
    const documented = (await (await fetch(`${url}/openapi.json`)).json()) as {
      paths: Record<string, { post: { responses: Record<string, { content?: Record<string, { examples?: Record<string, unknown> }> }> } }>;
    };
    for (const path of ['/v1/leads', '/v1/app-events']) {
      assert.ok(documented.paths[path]!.post.responses['503']?.content?.['application/problem+json']?.examples?.LEDGER_OVERLOADED, path);
    }
    const before = (await storedEvents(t.db)).length;

    stalled.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const retried = await lead();
    assert.equal(retried.status, 201);
    const appended = (await storedEvents(t.db)).slice(before);
    assert.ok(appended.some((e) => e.type === 'LeadCaptured' && (e.data as { email?: string }).email === 'refused@example.com'));
  });
});

// A client that stops sending mid-body without closing (a stalled sender, a peer gone without a
// FIN) must not hold its slot for as long as the socket lives: LEDGER_REQUEST_TIMEOUT_MS cuts it.
describe('a delivery whose body stops arriving', () => {
  let t: TestApp;
  let url: string;
  before(async () => {
    t = await startTestApp(pglite, { env: { LEDGER_WEBHOOK_MAX_IN_FLIGHT: '1', LEDGER_REQUEST_TIMEOUT_MS: '1000' } });
    url = await t.app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(() => t.close());

  test('is cut with 408 after the request timeout, nothing stored, and its slot serves the next delivery', async (context) => {
    const stalled = await stalledDelivery(Number(new URL(url).port));
    context.after(() => void stalled.destroy());
    let answer = '';
    stalled.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    // Without the timeout it would never close: the test fails after 10 s instead of waiting.
    const closed = new Promise<number>((resolve) => {
      stalled.once('close', () => resolve(performance.now()));
      setTimeout(() => resolve(Number.POSITIVE_INFINITY), 10_000).unref();
    });
    const stalledAt = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const { body, headers } = delivery('evt_after_stall');
    const send = () => fetch(`${url}/webhooks/stripe`, { method: 'POST', headers, body }).then((r) => r.status);
    assert.equal(await send(), 503, 'the stalled delivery holds the only slot');

    const cutAfter = (await closed) - stalledAt;
    // Within the timeout plus Node's check interval (a quarter of it).
    assert.ok(cutAfter >= 900 && cutAfter < 3_000, `cut after ${Math.round(cutAfter)} ms`);
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.match(answer, /\r\ncontent-type: application\/problem\+json\r\n/i);
    const problem = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { code: string; status: number; correlationId: string };
    assert.equal(problem.code, 'LEDGER_REQUEST_TIMEOUT');
    assert.equal(problem.status, 408);
    assert.match(answer, new RegExp(`\r\nx-correlation-id: ${problem.correlationId}\r\n`, 'i'));
    assert.equal(await send(), 200);
    assert.deepEqual([...new Set((await storedEvents(t.db)).map((e) => e.metadata.sourceEventId))], ['evt_after_stall']);
  });
});

// What never becomes a request fastify routes is still answered in the API's problem shape.
describe('bytes that are not a valid request', () => {
  let t: TestApp;
  let port: number;
  before(async () => {
    t = await startTestApp(pglite);
    port = Number(new URL(await t.app.listen({ host: '127.0.0.1', port: 0 })).port);
  });
  after(() => t.close());

  const exchange = async (raw: string) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    const closed = new Promise<boolean>((resolve) => {
      socket.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 10_000).unref();
    });
    socket.on('error', () => {});
    socket.write(raw);
    assert.ok(await closed, 'the connection is closed after the answer');
    return { head: answer.slice(0, answer.indexOf('\r\n')), problem: JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { code: string; status: number } };
  };

  test('not HTTP: 400 LEDGER_MALFORMED_REQUEST; headers past the limit: 431 LEDGER_HEADERS_TOO_LARGE; the connection closed', async () => {
    const garbage = await exchange('HELLO THERE\r\n\r\n');
    assert.equal(garbage.head, 'HTTP/1.1 400 Bad Request');
    assert.deepEqual([garbage.problem.code, garbage.problem.status], ['LEDGER_MALFORMED_REQUEST', 400]);
    const huge = await exchange(`POST /webhooks/stripe HTTP/1.1\r\nhost: x\r\nx-padding: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.equal(huge.head, 'HTTP/1.1 431 Request Header Fields Too Large');
    assert.deepEqual([huge.problem.code, huge.problem.status], ['LEDGER_HEADERS_TOO_LARGE', 431]);
    assert.equal((await storedEvents(t.db)).length, 0);
  });
});
