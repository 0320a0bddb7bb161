import { CustomerRefParams, type CustomerView } from '../../contracts/api/customerView.ts';
import { IDENTITY_KINDS, type IdentityKind } from '../../contracts/events/vocabulary.ts';
import { parseWith } from '../../contracts/parseBody.ts';
import { emailIdentityId } from '../../contracts/inbound/emailAddress.ts';
import { LedgerError } from '../../domain/errors.ts';
import { loadCustomer, type LoadedCustomer } from '../commands/loadCustomer.ts';
import type { EventStore } from '../eventstore/port.ts';
import { requireScope } from './apiKeyAuth.ts';
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

const isIdentityKind = (kind: string): kind is IdentityKind => (IDENTITY_KINDS as readonly string[]).includes(kind);

async function customerIdOf(store: EventStore, ref: string): Promise<string | undefined> {
  if (ref.startsWith('cust_')) return ref;
  const colon = ref.indexOf(':');
  const kind = ref.slice(0, colon);
  const externalId = ref.slice(colon + 1);
  // The contract admits only known kinds; this keeps the type honest.
  if (!isIdentityKind(kind)) return undefined;
  return store.resolveIdentity(kind, kind === 'email' ? emailIdentityId(externalId) : externalId);
}

// RFC 9110 If-None-Match: weak comparison, `*` matches any current representation.
function matchesAny(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}

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
    trialEndsAt: state.trialEndsAt,
    lastPayment: state.lastPayment,
    lastRefund: state.lastRefund,
    review: state.review,
    openTicketIds: state.openTicketIds,
    deletedIn: state.deletedIn,
  };
}
