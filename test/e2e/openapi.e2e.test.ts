import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../services/config.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { buildApp } from '../../services/http/app.ts';
import { errorCatalogue } from '../../domain/errors.ts';
import { buildOpenApiDocument, documentedRoutes, openApiPathOf } from '../../services/http/openapi.ts';
import { databaseTargets, dropSchemaOf } from '../support/databases.ts';
import { TEST_ENV } from '../support/testApp.ts';

// GET /openapi.json: an OpenAPI 3.1 document covering every route the app serves. A route added
// without a RouteDoc fails here.

type Json = Record<string, unknown>;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

// Every `$ref` in the document, wherever it sits.
function refsIn(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((item) => refsIn(item, found));
  else if (isObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      if (key === '$ref' && typeof child === 'string') found.push(child);
      else refsIn(child, found);
    }
  }
  return found;
}

// `METHOD /openapi/path` for each route fastify registered (HEAD mirrors GET and is implied).
function routeKeysOf(routes: { method: string | string[]; url: string }[]): string[] {
  return routes
    .flatMap(({ method, url }) => (Array.isArray(method) ? method : [method]).map((m) => `${m.toUpperCase()} ${openApiPathOf(url)}`))
    .filter((key) => !key.startsWith('HEAD '))
    .sort();
}

function documentedKeysOf(document: Json): string[] {
  const paths = document.paths;
  assert.ok(isObject(paths));
  return Object.entries(paths)
    .flatMap(([path, item]) => (isObject(item) ? Object.keys(item).filter((k) => METHODS.includes(k)).map((m) => `${m.toUpperCase()} ${path}`) : []))
    .sort();
}

const undocumented = (registered: string[], documented: string[]) => registered.filter((key) => !documented.includes(key));

for (const target of databaseTargets) {
  describe(`GET /openapi.json on ${target.name} (e2e)`, async () => {
    const skip = await target.skip();
    let db: LedgerDatabase;
    let app: FastifyInstance;
    const registered: { method: string | string[]; url: string }[] = [];
    let document: Json;

    before(async () => {
      if (skip) return;
      db = await target.open();
      app = buildApp({ db, config: loadConfig(TEST_ENV) });
      // Route modules register when the app boots, so this hook sees every one of them.
      app.addHook('onRoute', (route) => {
        registered.push({ method: route.method, url: route.url });
      });
      await app.ready();
      const res = await app.inject('/openapi.json');
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      document = res.json();
    });
    after(async () => {
      await app?.close();
      if (db) {
        await dropSchemaOf(db);
        await db.close();
      }
    });

    test('is OpenAPI 3.1 with info, paths and components', { skip }, () => {
      assert.equal(document.openapi, '3.1.0');
      assert.ok(isObject(document.info) && typeof document.info.title === 'string' && typeof document.info.version === 'string');
      assert.ok(isObject(document.paths) && Object.keys(document.paths).length > 0);
      assert.ok(isObject(document.components) && isObject(document.components.schemas) && isObject(document.components.securitySchemes));
    });

    test('every route the app serves is documented, and every documented route is served', { skip }, () => {
      const served = routeKeysOf(registered);
      const documented = documentedKeysOf(document);
      assert.ok(served.includes('POST /v1/leads') && served.includes('GET /v1/customers/{ref}'));
      assert.deepEqual(undocumented(served, documented), [], 'routes without a RouteDoc in services/http/openapi.ts');
      assert.deepEqual(undocumented(documented, served), [], 'RouteDocs for routes the app does not serve');
    });

    test('the coverage check catches a route added without docs', { skip }, async () => {
      const extra = buildApp({ db, config: loadConfig(TEST_ENV) });
      const seen: { method: string | string[]; url: string }[] = [];
      extra.addHook('onRoute', (route) => {
        seen.push({ method: route.method, url: route.url });
      });
      extra.register(async (scope) => {
        scope.get('/v1/undocumented/:id', async () => ({}));
      });
      await extra.ready();
      assert.deepEqual(undocumented(routeKeysOf(seen), documentedKeysOf(document)), ['GET /v1/undocumented/{id}']);
      await extra.close();
    });

    test('every operation has an id, responses, a known security scheme and its path parameters', { skip }, () => {
      const components = document.components as { schemas: Json; securitySchemes: Json };
      const operationIds = new Set<string>();
      for (const [path, item] of Object.entries(document.paths as Json)) {
        assert.ok(isObject(item));
        for (const [method, operation] of Object.entries(item)) {
          const where = `${method.toUpperCase()} ${path}`;
          assert.ok(METHODS.includes(method), where);
          assert.ok(isObject(operation), where);
          assert.equal(typeof operation.operationId, 'string', where);
          assert.ok(!operationIds.has(String(operation.operationId)), `duplicate operationId at ${where}`);
          operationIds.add(String(operation.operationId));
          assert.ok(isObject(operation.responses) && Object.keys(operation.responses).length > 0, where);
          for (const [status, response] of Object.entries(operation.responses)) {
            assert.match(status, /^[1-5]\d\d$/, where);
            assert.ok(isObject(response) && typeof response.description === 'string', `${where} ${status}`);
          }
          assert.ok(Array.isArray(operation.security), where);
          for (const requirement of operation.security) {
            for (const scheme of Object.keys(requirement)) assert.ok(scheme in components.securitySchemes, `${where}: ${scheme}`);
          }
          const declared = Array.isArray(operation.parameters) ? operation.parameters.filter((p: Json) => p.in === 'path').map((p: Json) => p.name) : [];
          const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
          assert.deepEqual(declared, templated, where);
        }
      }
    });

    test('every $ref resolves to a component schema', { skip }, () => {
      const schemas = (document.components as { schemas: Json }).schemas;
      const refs = refsIn(document);
      assert.ok(refs.length > 0);
      for (const ref of refs) {
        const name = /^#\/components\/schemas\/(.+)$/.exec(ref)?.[1];
        assert.ok(name !== undefined && name in schemas, ref);
      }
    });

    test('errors are problem+json with LEDGER_* codes from the catalogue', { skip }, () => {
      const problem = (document.components as { schemas: Json }).schemas.ProblemDetails as { properties: { code: { enum: string[] } } };
      assert.deepEqual([...problem.properties.code.enum].sort(), Object.keys(errorCatalogue).sort());
      const leads = (document.paths as Record<string, Record<string, { responses: Record<string, Json> }>>)['/v1/leads']!.post!;
      for (const [status, code] of [['401', 'LEDGER_UNAUTHENTICATED'], ['403', 'LEDGER_FORBIDDEN'], ['422', 'LEDGER_IDEMPOTENCY_KEY_REUSED'], ['409', 'LEDGER_IDEMPOTENCY_KEY_IN_FLIGHT'], ['400', 'LEDGER_IDEMPOTENCY_KEY_MISSING']] as const) {
        const content = leads.responses[status]?.content as Record<string, { examples: Json }> | undefined;
        assert.ok(content?.['application/problem+json']?.examples[code], `${status} ${code}`);
      }
    });

    test('every route that takes a body documents the refusals every body can get: too large (413), wrong media type (415)', { skip }, () => {
      const undocumented: string[] = [];
      for (const [path, operations] of Object.entries(document.paths as Record<string, Record<string, { requestBody?: unknown; responses: Record<string, { content?: Record<string, { examples?: Record<string, unknown> }> }> }>>)) {
        for (const [method, operation] of Object.entries(operations)) {
          if (operation.requestBody === undefined) continue;
          for (const [status, code] of [['413', 'LEDGER_BODY_TOO_LARGE'], ['415', 'LEDGER_UNSUPPORTED_MEDIA_TYPE']] as const) {
            if (!operation.responses[status]?.content?.['application/problem+json']?.examples?.[code]) undocumented.push(`${method.toUpperCase()} ${path} ${status}`);
          }
        }
      }
      assert.deepEqual(undocumented, []);
    });

    test('bodies come from the zod contracts; security schemes name the API key and each signature header', { skip }, () => {
      const { schemas, securitySchemes } = document.components as { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
      assert.equal(schemas.LeadRequest!.additionalProperties, false);
      assert.ok('appUserId' in (schemas.LeadRequest!.properties as Json));
      assert.ok(Array.isArray(schemas.AppEventRequest!.oneOf));
      assert.deepEqual((schemas.CustomerView!.required as string[]).slice(0, 4), ['customerId', 'lifecycle', 'identities', 'version']);
      assert.deepEqual(securitySchemes.apiKey, { ...securitySchemes.apiKey, type: 'http', scheme: 'bearer' });
      assert.deepEqual(
        ['stripeSignature', 'hubspotSignature', 'zendeskSignature'].map((name) => securitySchemes[name]!.name),
        ['Stripe-Signature', 'X-HubSpot-Signature-v3', 'X-Zendesk-Webhook-Signature'],
      );
      const paths = document.paths as Record<string, Record<string, Json>>;
      assert.deepEqual(paths['/v1/leads']!.post!.security, [{ apiKey: ['app'] }]);
      assert.deepEqual(paths['/webhooks/stripe']!.post!.security, [{ stripeSignature: [] }]);
      assert.deepEqual(paths['/health/live']!.get!.security, []);
    });

    test('is built once: the served document is the one built from the route docs', { skip }, async () => {
      assert.deepEqual(document, JSON.parse(JSON.stringify(buildOpenApiDocument(documentedRoutes))));
      const again = await app.inject('/openapi.json');
      assert.equal(again.body, JSON.stringify(document));
    });
  });
}
