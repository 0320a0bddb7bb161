import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Fastify from 'fastify';
import { loadConfig } from '../../services/config.ts';
import { authenticate, bearerTokenOf, effectiveScopes, knownKeysOf, principalOf, requireScope } from '../../services/http/apiKeyAuth.ts';
import { errorHandler } from '../../services/http/errorHandler.ts';

const config = loadConfig({
  LOG_LEVEL: 'silent',
  LEDGER_API_KEYS: 'sk-app-1:app,sk-read-1:read,sk-viewer-1:viewer,sk-support-1:support,sk-admin-1:admin,with:colon:read',
});

describe('scopes', () => {
  test('admin implies support, viewer and read; support implies viewer and read; viewer implies read', () => {
    assert.deepEqual([...effectiveScopes(['admin'])].sort(), ['admin', 'read', 'support', 'viewer']);
    assert.deepEqual([...effectiveScopes(['support'])].sort(), ['read', 'support', 'viewer']);
    assert.deepEqual([...effectiveScopes(['viewer'])].sort(), ['read', 'viewer']);
  });

  test('app is never implied and implies nothing', () => {
    assert.equal(effectiveScopes(['admin']).has('app'), false);
    assert.deepEqual([...effectiveScopes(['app'])], ['app']);
    assert.deepEqual([...effectiveScopes(['read'])], ['read']);
  });
});

describe('bearer tokens', () => {
  test('reads `Bearer <token>` with any case of the scheme', () => {
    assert.equal(bearerTokenOf('Bearer sk-app-1'), 'sk-app-1');
    assert.equal(bearerTokenOf('bearer sk-app-1 '), 'sk-app-1');
    assert.equal(bearerTokenOf('Bearer with:colon'), 'with:colon');
  });

  test('refuses other schemes, an empty token and a token with spaces', () => {
    for (const header of [undefined, '', 'Basic c2stYXBwLTE6', 'Bearer', 'Bearer ', 'Bearer a b', 'sk-app-1']) {
      assert.equal(bearerTokenOf(header), undefined, String(header));
    }
  });
});

describe('authenticate', () => {
  const keys = knownKeysOf(config);

  test('a configured key yields its principal, with a fingerprint that is not the key', () => {
    const principal = authenticate(keys, 'sk-admin-1');
    assert.ok(principal);
    assert.ok(principal.scopes.has('support'));
    assert.match(principal.fingerprint, /^[0-9a-f]{16}$/);
    assert.ok(!principal.fingerprint.includes('sk-admin-1'));
    assert.equal(authenticate(keys, 'sk-admin-1')?.fingerprint, principal.fingerprint);
    assert.notEqual(authenticate(keys, 'sk-app-1')?.fingerprint, principal.fingerprint);
  });

  test('near misses are unknown: a prefix, an extension, another case', () => {
    for (const presented of ['sk-admin-', 'sk-admin-11', 'SK-ADMIN-1', '', 'with']) {
      assert.equal(authenticate(keys, presented), undefined, presented);
    }
  });

  test('no configured keys: nothing authenticates', () => {
    assert.equal(authenticate(knownKeysOf(loadConfig({ LOG_LEVEL: 'silent' })), 'sk-app-1'), undefined);
  });
});

describe('requireScope over HTTP', () => {
  const app = Fastify();
  app.setErrorHandler(errorHandler);
  app.post('/needs-app', { onRequest: requireScope(config, 'app') }, async (request) => ({ fingerprint: principalOf(request).fingerprint }));
  app.get('/needs-read', { onRequest: requireScope(config, 'read') }, async () => ({ ok: true }));

  const call = (url: string, authorization?: string, payload?: string) =>
    app.inject({
      method: url === '/needs-app' ? 'POST' : 'GET',
      url,
      headers: { ...(authorization ? { authorization } : {}), ...(payload ? { 'content-type': 'application/json' } : {}) },
      ...(payload ? { payload } : {}),
    });

  test('no Authorization header: 401 LEDGER_UNAUTHENTICATED with a Bearer challenge', async () => {
    const res = await call('/needs-read');
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().code, 'LEDGER_UNAUTHENTICATED');
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="customer-ledger"');
    assert.match(String(res.headers['content-type']), /application\/problem\+json/);
  });

  test('an unknown key: 401 with error="invalid_token", and the key is not echoed', async () => {
    const res = await call('/needs-read', 'Bearer not-a-key');
    assert.equal(res.statusCode, 401);
    assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/);
    assert.ok(!res.body.includes('not-a-key'));
  });

  test('a known key without the scope: 403 LEDGER_FORBIDDEN naming the scope', async () => {
    for (const key of ['sk-read-1', 'sk-admin-1']) {
      const res = await call('/needs-app', `Bearer ${key}`, '{}');
      assert.equal(res.statusCode, 403, key);
      assert.equal(res.json().code, 'LEDGER_FORBIDDEN');
      assert.equal(res.json().requiredScope, 'app');
      assert.match(String(res.headers['www-authenticate']), /error="insufficient_scope", scope="app"/);
    }
    const res = await call('/needs-read', 'Bearer sk-app-1');
    assert.equal(res.statusCode, 403);
  });

  test('read is open to read, viewer, support and admin keys', async () => {
    for (const key of ['sk-read-1', 'sk-viewer-1', 'sk-support-1', 'sk-admin-1', 'with:colon']) {
      assert.equal((await call('/needs-read', `Bearer ${key}`)).statusCode, 200, key);
    }
  });

  test('the key is checked before the body is read: a malformed body without a key is a 401, not a 400', async () => {
    const res = await call('/needs-app', undefined, '{not json');
    assert.equal(res.statusCode, 401);
    const authed = await call('/needs-app', 'Bearer sk-app-1', '{not json');
    assert.equal(authed.statusCode, 400);
  });

  test('the handler sees the principal that passed', async () => {
    const res = await call('/needs-app', 'Bearer sk-app-1', '{}');
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().fingerprint, authenticate(knownKeysOf(config), 'sk-app-1')?.fingerprint);
  });
});
