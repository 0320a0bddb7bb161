import { createRequire } from 'node:module';
import { componentSchemas, type JsonSchema } from '../../contracts/api/openapiSchemas.ts';
import { errorCatalogue, type ErrorCode } from '../../domain/errors.ts';
import { adminRouteDocs } from '../admin/adminRouteDocs.ts';
import { redeliverRouteDocs } from '../admin/redeliverRouteDocs.ts';
import { traceRouteDocs } from '../admin/traceRouteDocs.ts';
import { unmatchedRouteDocs } from '../admin/unmatchedRouteDocs.ts';
import { metricsRouteDocs } from '../telemetry/metricsRouteDocs.ts';
import { appRouteDocs } from '../ingest/app/appRouteDocs.ts';
import { webhookRouteDocs } from '../ingest/webhookRouteDocs.ts';
import type { RouteModule } from './app.ts';
import { customerRouteDocs } from './customerRouteDocs.ts';
import { readModelRouteDocs } from './readModelRouteDocs.ts';
import { PROBLEM_CONTENT_TYPE, problemType } from './errorHandler.ts';
import { retryAfterHeader, type ParameterDoc, type ResponseDoc, type RouteDoc, type SchemaRef, type SecuritySchemeName } from './routeDocs.ts';

// GET /openapi.json: OpenAPI 3.1, assembled once at start from the route docs below and the JSON
// Schemas generated from the zod contracts. A new route adds its RouteDoc here.

const platformRouteDocs: RouteDoc[] = [
  {
    method: 'GET',
    url: '/health/live',
    operationId: 'live',
    summary: 'Liveness: the process is up',
    tag: 'health',
    security: [],
    responses: { 200: { description: 'Up', schema: 'LiveResponse' } },
    problems: [],
  },
  {
    method: 'GET',
    url: '/health/ready',
    operationId: 'ready',
    summary: 'Readiness: the store is reachable and every migration is applied',
    tag: 'health',
    security: [],
    responses: { 200: { description: 'Ready', schema: 'ReadyResponse' } },
    problems: ['LEDGER_STORE_UNAVAILABLE'],
  },
  {
    method: 'GET',
    url: '/openapi.json',
    operationId: 'openapi',
    summary: 'This document',
    tag: 'meta',
    security: [],
    responses: { 200: { description: 'OpenAPI 3.1', schema: { type: 'object' } } },
    problems: [],
  },
];

export const documentedRoutes: RouteDoc[] = [...platformRouteDocs, ...webhookRouteDocs, ...appRouteDocs, ...customerRouteDocs, ...redeliverRouteDocs, ...readModelRouteDocs, ...adminRouteDocs, ...metricsRouteDocs, ...traceRouteDocs, ...unmatchedRouteDocs];

const securitySchemes: Record<SecuritySchemeName, JsonSchema> = {
  apiKey: {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key from LEDGER_API_KEYS as `Authorization: Bearer <key>`. Scopes: app, read, viewer, support, admin; admin implies support, support implies viewer, and each of these implies read. app is never implied.',
  },
  stripeSignature: { type: 'apiKey', in: 'header', name: 'Stripe-Signature', description: 'Stripe webhook signature (t=…,v1=…)' },
  hubspotSignature: {
    type: 'apiKey',
    in: 'header',
    name: 'X-HubSpot-Signature-v3',
    description: 'HubSpot v3 signature, with X-HubSpot-Request-Timestamp',
  },
  zendeskSignature: {
    type: 'apiKey',
    in: 'header',
    name: 'X-Zendesk-Webhook-Signature',
    description: 'Zendesk webhook signature, with X-Zendesk-Webhook-Signature-Timestamp',
  },
};

// fastify's `/v1/customers/:ref` is OpenAPI's `/v1/customers/{ref}`.
export const openApiPathOf = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

const schemaOf = (schema: SchemaRef): JsonSchema => (typeof schema === 'string' ? { $ref: `#/components/schemas/${schema}` } : schema);

const correlationHeader = { description: 'The request’s correlation id (honoured from the request when valid)', schema: { type: 'string' } };

function responseOf(doc: ResponseDoc): JsonSchema {
  return {
    description: doc.description,
    headers: { 'X-Correlation-Id': correlationHeader, ...doc.headers },
    ...(doc.schema === undefined ? {} : { content: { [doc.contentType ?? 'application/json']: { schema: schemaOf(doc.schema) } } }),
  };
}

// Problems grouped by HTTP status, one example per code.
function problemResponses(url: string, codes: ErrorCode[]): Record<string, JsonSchema> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set<ErrorCode>([...codes, 'LEDGER_INTERNAL'])) {
    const status = errorCatalogue[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, JsonSchema> = {};
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    const examples = Object.fromEntries(
      group.map((code) => {
        const { title } = errorCatalogue[code];
        const value = { type: problemType(code), title, status, code, detail: title, instance: url, correlationId: '0190d6a2-5c1e-7d4b-9a63-2b1f0c9e8d71' };
        return [code, { summary: title, value }];
      }),
    );
    const headers: Record<string, unknown> = { 'X-Correlation-Id': correlationHeader };
    if (status === 401 || status === 403) headers['WWW-Authenticate'] = { description: 'RFC 6750 Bearer challenge', schema: { type: 'string' } };
    if (status === 429 || status === 409 || status === 503) headers['Retry-After'] = retryAfterHeader;
    responses[String(status)] = {
      description: group.map((code) => `${code}: ${errorCatalogue[code].title}`).join('; '),
      headers,
      content: { [PROBLEM_CONTENT_TYPE]: { schema: schemaOf('ProblemDetails'), examples } },
    };
  }
  return responses;
}

const parameterOf = (p: ParameterDoc): JsonSchema => ({ name: p.name, in: p.in, required: p.required, description: p.description, schema: p.schema });

function operationOf(route: RouteDoc): JsonSchema {
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [route.tag],
    // An empty list says "public" explicitly, rather than inheriting a default.
    security: route.security.map(({ scheme, scopes }) => ({ [scheme]: scopes ?? [] })),
    ...(route.parameters ? { parameters: route.parameters.map(parameterOf) } : {}),
    ...(route.requestBody
      ? {
          requestBody: {
            required: true,
            ...(route.requestBody.description ? { description: route.requestBody.description } : {}),
            content: { [route.requestBody.contentType ?? 'application/json']: { schema: schemaOf(route.requestBody.schema) } },
          },
        }
      : {}),
    responses: {
      ...Object.fromEntries(Object.entries(route.responses).map(([status, doc]) => [status, responseOf(doc)])),
      ...problemResponses(openApiPathOf(route.url), route.problems),
    },
  };
}

const packageVersion = (): string => {
  const pkg: unknown = createRequire(import.meta.url)('../../package.json');
  return typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string' ? pkg.version : '0.0.0';
};

export function buildOpenApiDocument(routes: RouteDoc[]): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const path = (paths[openApiPathOf(route.url)] ??= {});
    path[route.method.toLowerCase()] = operationOf(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'customer-ledger',
      version: packageVersion(),
      description:
        'An event-sourced customer ledger: verified webhooks from Stripe, the CRM and the support desk, the app API, and customer reads. Errors are RFC 9457 problem details with a stable LEDGER_* code.',
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: { schemas: componentSchemas, securitySchemes },
  };
}

export const openapiRoutes: RouteModule = (scope) => {
  // Built and serialised once, at start.
  const document = JSON.stringify(buildOpenApiDocument(documentedRoutes));
  scope.get('/openapi.json', async (_request, reply) => reply.type('application/json; charset=utf-8').header('cache-control', 'no-cache').send(document));
};
