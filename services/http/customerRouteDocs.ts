import { customerRefParameter, type RouteDoc } from './routeDocs.ts';

export const customerRouteDocs: RouteDoc[] = [
  {
    method: 'GET',
    url: '/v1/customers/:ref',
    operationId: 'getCustomer',
    summary: 'Read one customer',
    description:
      'The customer folded from its event stream. `ref` is a customer id or an external id prefixed by its kind; emails are matched case-insensitively. Needs the `read` scope, which viewer, support and admin keys imply.',
    tag: 'customers',
    security: [{ scheme: 'apiKey', scopes: ['read'] }],
    parameters: [
      customerRefParameter,
      { name: 'If-None-Match', in: 'header', required: false, description: 'An ETag from an earlier read: 304 while the customer is unchanged', schema: { type: 'string' } },
    ],
    responses: {
      200: {
        description: 'The customer',
        schema: 'CustomerView',
        headers: { ETag: { description: '"<customerId>.<version>": changes with every event on the stream', schema: { type: 'string' } } },
      },
      304: { description: 'Not modified since the ETag in If-None-Match' },
    },
    problems: ['LEDGER_UNAUTHENTICATED', 'LEDGER_FORBIDDEN', 'LEDGER_VALIDATION', 'LEDGER_NOT_FOUND', 'LEDGER_STORE_UNAVAILABLE'],
  },
];
