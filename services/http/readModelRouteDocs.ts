import { customerRefParameter, type ParameterDoc, type RouteDoc } from './routeDocs.ts';


const longPoll: ParameterDoc[] = [
  { name: 'If-None-Match', in: 'header', required: false, description: 'An ETag from an earlier read: 304 while unchanged', schema: { type: 'string' } },
  { name: 'waitForVersion', in: 'query', required: false, description: 'Long-poll: answer once the document reaches this version', schema: { type: 'integer', minimum: 0 } },
  { name: 'timeoutMs', in: 'query', required: false, description: 'Longest wait for waitForVersion (default 25000, max 60000)', schema: { type: 'integer', minimum: 0, maximum: 60000 } },
];

const problems = ['LEDGER_UNAUTHENTICATED', 'LEDGER_FORBIDDEN', 'LEDGER_VALIDATION', 'LEDGER_NOT_FOUND', 'LEDGER_STORE_UNAVAILABLE'] as const;

const documentRoute = (url: string, operationId: string, summary: string, schema: 'CrmContactView' | 'SupportProfileView' | 'AppEntitlementsResponse', scopes: string[]): RouteDoc => ({
  method: 'GET',
  url,
  operationId,
  summary,
  description: 'A read model document, never ahead of the event streams. ETag changes with the document version.',
  tag: 'read models',
  security: scopes.map((scope) => ({ scheme: 'apiKey' as const, scopes: [scope] })),
  parameters: [customerRefParameter, ...longPoll],
  responses: {
    200: { description: 'The document', schema, headers: { ETag: { description: '"<customerId>.<model>.<version>"', schema: { type: 'string' } } } },
    304: { description: 'Not modified since the ETag in If-None-Match' },
  },
  problems: [...problems],
});

const changesRoute = (model: 'crm' | 'support' | 'app'): RouteDoc => ({
  method: 'GET',
  url: `/v1/${model}/changes`,
  operationId: `${model}Changes`,
  summary: `Change feed of the ${model} read model`,
  description: 'Every committed document change in commit order; page with `after=<nextCursor>`. Sync workers neither miss nor repeat a change.',
  tag: 'read models',
  security: [{ scheme: 'apiKey', scopes: ['read'] }],
  parameters: [
    { name: 'after', in: 'query', required: false, description: 'The nextCursor of the previous page (absent or empty: from the start)', schema: { type: 'string', pattern: '^\\d{0,19}$' } },
    { name: 'limit', in: 'query', required: false, description: '1..1000, default 100', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
    { name: 'timeoutMs', in: 'query', required: false, description: 'Long-poll an empty page for up to this long (default 0)', schema: { type: 'integer', minimum: 0, maximum: 60000 } },
  ],
  responses: { 200: { description: 'A page of changes', schema: 'ChangesPage' } },
  problems: ['LEDGER_UNAUTHENTICATED', 'LEDGER_FORBIDDEN', 'LEDGER_VALIDATION', 'LEDGER_STORE_UNAVAILABLE'],
});

export const readModelRouteDocs: RouteDoc[] = [
  documentRoute('/v1/crm/contacts/:ref', 'getCrmContact', 'Read a CRM contact', 'CrmContactView', ['read']),
  documentRoute('/v1/support/profiles/:ref', 'getSupportProfile', 'Read a support profile with its tickets', 'SupportProfileView', ['read']),
  documentRoute('/v1/app/entitlements/:ref', 'getAppEntitlements', "Read an app user's entitlements", 'AppEntitlementsResponse', ['app', 'read']),
  changesRoute('crm'),
  changesRoute('support'),
  changesRoute('app'),
];
