import { CustomerRefParams, type CustomerView } from '../../contracts/api/customerView.ts';
import { parseWith } from '../../contracts/parseBody.ts';
import { LedgerError } from '../../domain/errors.ts';
import { loadCustomer, type LoadedCustomer } from '../commands/loadCustomer.ts';
import { requireScope } from './apiKeyAuth.ts';
import { customerIdOf, matchesAny } from './customerRef.ts';
import type { RouteModule } from './app.ts';

// GET /v1/customers/{ref}: one customer, folded from its stream, found by our id or any of the
// ids other systems know them by. `read` scope (viewer, support and admin keys imply it).
export const customerRoutes: RouteModule = (scope, deps) => {
  const onRequest = requireScope(deps.config, 'read');

  scope.get('/v1/customers/:ref', { onRequest }, async (request, reply) => {
    const { ref } = parseWith(CustomerRefParams, request.params);
    const store = deps.db.store;
    const customerId = await customerIdOf(store, ref);
    const loaded = customerId === undefined ? undefined : await loadCustomer(store, customerId);
    if (loaded?.version === undefined) throw new LedgerError('LEDGER_NOT_FOUND', 'No customer matches this reference');

    // The customer id is part of the tag: an external id could, after an unlink, name another
    // customer whose stream happens to be at the same version.
    const etag = `"${loaded.customerId}.${loaded.version}"`;
    reply.header('etag', etag).header('cache-control', 'private, no-cache');
    if (matchesAny(request.headers['if-none-match'], etag)) return reply.code(304).send();
    return customerViewOf(loaded);
  });
};

export function customerViewOf({ customerId, state, version, events }: LoadedCustomer): CustomerView {
  // A lead never transitioned: it has been one since its first fact.
  const since = state.since ?? events[0]?.metadata.occurredAt;
  if (version === undefined || since === undefined) throw new LedgerError('LEDGER_NOT_FOUND', 'No customer matches this reference');
  return {
    customerId,
    lifecycle: { state: state.lifecycle, since },
    identities: state.identities.map(({ kind, externalId }) => ({ kind, externalId })),
    version,
    profile: state.profile,
    plan: state.plan,
    subscriptionId: state.subscriptionId,
    subscriptionStatus: state.subscriptionStatus,
    mrrCents: state.mrrCents,
    currency: state.currency,
    // Oldest first (then by id), whatever order their facts arrived in; bookkeeping stays inside.
    subscriptions: Object.entries(state.subscriptions ?? {})
      .map(([id, { status, plan, mrrCents, currency, since }]) => ({ id, status, plan, mrrCents, currency, since }))
      .sort((a, b) => Date.parse(a.since) - Date.parse(b.since) || a.id.localeCompare(b.id)),
    trialEndsAt: state.trialEndsAt,
    lastPayment: state.lastPayment,
    lastRefund: state.lastRefund,
    review: state.review,
    openTicketIds: state.openTicketIds,
    deletedIn: state.deletedIn,
  };
}
