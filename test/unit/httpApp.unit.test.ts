import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { ConcurrencyError, LedgerError } from '../../domain/errors.ts';
import { loadConfig } from '../../services/config.ts';
import type { LedgerDatabase, Readiness } from '../../services/eventstore/database.ts';
import { buildApp } from '../../services/http/app.ts';

// The HTTP shell over a stand-in database: only readiness() is reached by these routes.
function fakeDatabase(readiness: () => Promise<Readiness>): LedgerDatabase {
  const unused = () => {
    throw new Error('not used by the HTTP shell tests');
  };
  return { readiness, close: async () => {}, get sql() { return unused(); }, get store() { return unused(); } };
}

const config = loadConfig({ LOG_LEVEL: 'silent', LEDGER_BODY_LIMIT_BYTES: '1024' });
const ready = async (): Promise<Readiness> => ({ ok: true, checks: [{ name: 'store', ok: true }, { name: 'migrations', ok: true }] });

function appWith(readiness = ready): FastifyInstance {
  const app = buildApp({ db: fakeDatabase(readiness), config });
  app.post('/test/ledger-error', async () => {
    throw new ConcurrencyError('customer-cust_1', 3, 4);
  });
  app.get('/test/crash', async () => {
    throw new Error('relation "events" at /srv/app/services/eventstore/postgresEventStore.ts:42');
  });
  app.get('/test/internal-ledger-error', async () => {
    throw new LedgerError('LEDGER_INTERNAL', 'CustomerFactRecorded v1 does not match: data.amount', { issues: ['data.amount'] });
  });
  app.get('/test/store-down', async () => {
    throw Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:5432'), { code: 'ECONNREFUSED' });
  });
  app.post('/test/echo', { schema: { body: { type: 'object', required: ['amount'], properties: { amount: { type: 'integer' } } } } }, async (request) => request.body);
  app.get('/test/items/:id', async () => ({}));
  return app;
}

describe('HTTP app', () => {
  let app: FastifyInstance;
  before(() => {
    app = appWith();
  });
  after(() => app.close());

  test('GET /health/live answers while the process is up', async () => {
    const res = await app.inject('/health/live');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'live' });
    assert.equal(res.headers['cache-control'], 'no-store');
  });

  test('GET /health/ready answers 200 with the checks when the store is ready', async () => {
    const res = await app.inject('/health/ready');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ready', checks: [{ name: 'store', ok: true }, { name: 'migrations', ok: true }] });
  });

  for (const [name, readiness] of [
    ['not ready', async (): Promise<Readiness> => ({ ok: false, checks: [{ name: 'store', ok: true }, { name: 'migrations', ok: false, detail: 'pending: 0002_secret_table' }] })],
    ['throwing', async (): Promise<Readiness> => Promise.reject(new Error('connect ECONNREFUSED 10.1.2.3:5432'))],
  ] as const) {
    test(`GET /health/ready answers 503 problem details when readiness is ${name}, without internals`, async () => {
      const notReady = appWith(readiness);
      const res = await notReady.inject('/health/ready');
      await notReady.close();
      assert.equal(res.statusCode, 503);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      const body = res.json();
      assert.equal(body.code, 'LEDGER_STORE_UNAVAILABLE');
      assert.equal(body.status, 503);
      assert.equal(body.instance, '/health/ready');
      assert.doesNotMatch(res.body, /secret_table|10\.1\.2\.3|ECONNREFUSED/);
    });
  }

  test('a LedgerError becomes RFC 9457 problem details with its code and safe details', async () => {
    const res = await app.inject({ method: 'POST', url: '/test/ledger-error?token=abc', headers: { 'x-correlation-id': 'corr-42' } });
    assert.equal(res.statusCode, 409);
    assert.equal(res.headers['x-correlation-id'], 'corr-42');
    const body = res.json();
    assert.deepEqual(
      { type: body.type, title: body.title, status: body.status, code: body.code, instance: body.instance, correlationId: body.correlationId },
      { type: 'urn:customer-ledger:problem:LEDGER_CONCURRENCY', title: 'Stream version conflict', status: 409, code: 'LEDGER_CONCURRENCY', instance: '/test/ledger-error', correlationId: 'corr-42' },
    );
    assert.equal(body.expected, '3');
    assert.equal(typeof body.detail, 'string');
  });

  test('an unknown error is a 500 LEDGER_INTERNAL with nothing internal in it', async () => {
    const res = await app.inject('/test/crash');
    assert.equal(res.statusCode, 500);
    assert.equal(res.json().code, 'LEDGER_INTERNAL');
    assert.doesNotMatch(res.body, /relation "events"|\/srv\/|\.ts:|stack|Error:/);
  });

  test('a LedgerError with status 500 keeps its message and details out of the response', async () => {
    const res = await app.inject('/test/internal-ledger-error');
    assert.equal(res.statusCode, 500);
    assert.equal(res.json().detail, 'Internal error');
    assert.doesNotMatch(res.body, /CustomerFactRecorded|amount|issues/);
  });

  test('a store connection failure is a 503, so providers retry', async () => {
    const res = await app.inject('/test/store-down');
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().code, 'LEDGER_STORE_UNAVAILABLE');
    assert.doesNotMatch(res.body, /10\.1\.2\.3/);
  });

  const rejected: [string, InjectOptions, number, string][] = [
    ['an oversized body', { method: 'POST', url: '/test/echo', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ amount: 1, pad: 'x'.repeat(2048) }) }, 413, 'LEDGER_BODY_TOO_LARGE'],
    ['a wrong content type', { method: 'POST', url: '/test/echo', headers: { 'content-type': 'application/xml' }, payload: '<amount>1</amount>' }, 415, 'LEDGER_UNSUPPORTED_MEDIA_TYPE'],
    ['malformed JSON', { method: 'POST', url: '/test/echo', headers: { 'content-type': 'application/json' }, payload: '{"amount":' }, 400, 'LEDGER_MALFORMED_JSON'],
    ['an empty JSON body', { method: 'POST', url: '/test/echo', headers: { 'content-type': 'application/json' }, payload: '' }, 400, 'LEDGER_MALFORMED_JSON'],
    ['a body failing the route schema', { method: 'POST', url: '/test/echo', payload: { amount: 'ten' } }, 400, 'LEDGER_VALIDATION'],
    ['a malformed URL', { method: 'GET', url: '/test/items/%E0%A4%A' }, 400, 'LEDGER_VALIDATION'],
    ['an unknown route', { method: 'GET', url: '/nowhere?x=1' }, 404, 'LEDGER_NOT_FOUND'],
  ];
  for (const [name, request, status, code] of rejected) {
    test(`${name} → ${status} ${code}`, async () => {
      const res = await app.inject(request);
      assert.equal(res.statusCode, status);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      const body = res.json();
      assert.equal(body.code, code);
      assert.equal(body.status, status);
      assert.ok(body.type && body.title && body.detail && body.instance);
      assert.doesNotMatch(res.body, /FST_|stack|node_modules/);
    });
  }

  test('a schema failure names the field path', async () => {
    const res = await app.inject({ method: 'POST', url: '/test/echo', payload: { amount: 'ten' } });
    assert.deepEqual(res.json().errors, [{ path: 'body/amount', message: 'must be integer' }]);
  });

  test('an unsafe inbound correlation id is replaced, not echoed', async () => {
    const res = await app.inject({ url: '/health/live', headers: { 'x-correlation-id': 'x'.repeat(200) } });
    assert.match(String(res.headers['x-correlation-id']), /^[0-9a-f-]{36}$/);
  });
});
