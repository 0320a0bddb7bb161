import type { RouteDoc } from '../http/routeDocs.ts';

export const redeliverRouteDocs: RouteDoc[] = [
  {
    method: 'POST',
    url: '/admin/redeliveries',
    operationId: 'redeliver',
    summary: 'Re-process kept webhook deliveries through today’s translators',
    description:
      'One inbox delivery (`inboxId`) or every delivery received since a time (`since`, optionally one `source`), translated again without a signature check (only verified deliveries are kept). A fact whose type the source event already produced is a duplicate; a fact of a new type is appended once. Running it twice appends nothing the second time. Needs the `admin` scope.',
    tag: 'admin',
    security: [{ scheme: 'apiKey', scopes: ['admin'] }],
    requestBody: { schema: 'RedeliveryRequest' },
    responses: { 200: { description: 'What each delivery’s facts became', schema: 'RedeliveryReport' } },
    problems: ['LEDGER_UNAUTHENTICATED', 'LEDGER_FORBIDDEN', 'LEDGER_VALIDATION', 'LEDGER_MALFORMED_JSON', 'LEDGER_UNSUPPORTED_MEDIA_TYPE', 'LEDGER_BODY_TOO_LARGE', 'LEDGER_NOT_FOUND', 'LEDGER_STORE_UNAVAILABLE'],
  },
];
