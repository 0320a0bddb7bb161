import { parameterSchemas, type JsonSchema, type SchemaName } from '../../contracts/api/openapiSchemas.ts';
import type { ErrorCode } from '../../domain/errors.ts';

// How a route describes itself for GET /openapi.json. Every route fastify serves must have one
// in `documentedRoutes` (services/http/openapi.ts); test/e2e/openapi.e2e.test.ts fails otherwise.

export type SecuritySchemeName = 'apiKey' | 'stripeSignature' | 'hubspotSignature' | 'zendeskSignature';

// A component schema by name, or an inline JSON Schema.
export type SchemaRef = SchemaName | JsonSchema;

export interface ParameterDoc {
  name: string;
  in: 'path' | 'header' | 'query';
  required: boolean;
  description: string;
  schema: JsonSchema;
}

// The `:ref` of every route about one customer.
export const customerRefParameter: ParameterDoc = {
  name: 'ref',
  in: 'path',
  required: true,
  description: 'cust_…, stripe:<id>, crm:<id>, support:<id>, app:<id> or email:<address>',
  schema: parameterSchemas.customerRef,
};

export interface HeaderDoc {
  description: string;
  schema: JsonSchema;
}

export interface ResponseDoc {
  description: string;
  schema?: SchemaRef;
  contentType?: string;
  headers?: Record<string, HeaderDoc>;
}

export interface RouteDoc {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  // As registered with fastify: `/v1/customers/:ref`.
  url: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  // Any one of these admits the request; none: public.
  security: { scheme: SecuritySchemeName; scopes?: string[] }[];
  parameters?: ParameterDoc[];
  requestBody?: { schema: SchemaRef; description?: string; contentType?: string };
  responses: Record<number, ResponseDoc>;
  // The problems (LEDGER_* codes) the route answers with; LEDGER_INTERNAL is implied.
  problems: ErrorCode[];
}

export const retryAfterHeader: HeaderDoc = { description: 'Seconds to wait before retrying', schema: { type: 'integer' } };
