import type { FastifyInstance } from 'fastify';
import { AdminIdentityRequest, AdminOverrideRequest, CustomersQuery, StateQuery } from '../../contracts/api/adminApi.ts';
import { CustomerRefParams } from '../../contracts/api/customerView.ts';
import { parseWith } from '../../contracts/parseBody.ts';
import { readModelOptionsFrom } from '../../projections/readModels.ts';
import { streamIdOf } from '../commands/customerIds.ts';
import { requireScope } from '../http/apiKeyAuth.ts';
import type { AppDeps, RouteModule } from '../http/app.ts';
import { existingCustomerId } from '../operations/customerLookup.ts';
import { listCustomers } from '../operations/customerStreams.ts';
import { stateAt } from '../operations/stateAt.ts';
import { loadTimeline } from '../operations/timeline.ts';
import { actorOf, auditAdminRequests, noteForAudit } from './adminAccess.ts';
import { applyOverride, changeIdentity } from './adminCommands.ts';
import { adminOperationRoutes } from './adminOperationRoutes.ts';

// /admin/…: what an engineer or a support agent needs during an incident, behind API keys with
// the viewer, support and admin roles. Every request, answered or refused, is audited.
export const adminRoutes: RouteModule = (scope, deps) => {
  // JSON only: a text/plain body here is a client bug (415), not something to guess at.
  scope.removeContentTypeParser('text/plain');
  auditAdminRequests(scope, deps);
  customerRoutes(scope, deps);
  adminOperationRoutes(scope, deps);
};

function customerRoutes(scope: FastifyInstance, deps: AppDeps): void {
  const viewer = requireScope(deps.config, 'viewer');
  const now = deps.now ?? (() => new Date());
  const readModelOptions = readModelOptionsFrom(deps.config.projections);

  const customerOf = async (params: unknown) => {
    const { ref } = parseWith(CustomerRefParams, params);
    return existingCustomerId(deps.db.store, ref);
  };

  scope.get('/admin/customers', { onRequest: viewer }, async (request) => {
    const query = parseWith(CustomersQuery, request.query);
    return listCustomers(deps.db.sql, query);
  });

  scope.get('/admin/customers/:ref/timeline', { onRequest: viewer }, async (request) => {
    const customerId = await customerOf(request.params);
    noteForAudit(request, { target: customerId });
    return loadTimeline(deps.db.store, customerId);
  });

  scope.get('/admin/customers/:ref/state', { onRequest: viewer }, async (request) => {
    const customerId = await customerOf(request.params);
    noteForAudit(request, { target: customerId });
    const { at } = parseWith(StateQuery, request.query);
    return stateAt(customerId, await deps.db.store.readStream(streamIdOf(customerId)), at, readModelOptions);
  });

  // Support may reach this route to resolve a review; the domain refuses set_state to anyone
  // but an admin (403), from the role carried by the actor.
  scope.post('/admin/customers/:ref/overrides', { onRequest: requireScope(deps.config, 'support') }, async (request) => {
    const customerId = await customerOf(request.params);
    const body = parseWith(AdminOverrideRequest, request.body);
    noteForAudit(request, { target: customerId, reason: body.reason, detail: { action: body.action, ...(body.to ? { to: body.to } : {}) } });
    return applyOverride({ store: deps.db.store, now }, customerId, body, { actor: actorOf(request), correlationId: request.id });
  });

  scope.post('/admin/customers/:ref/identities', { onRequest: requireScope(deps.config, 'admin') }, async (request) => {
    const customerId = await customerOf(request.params);
    const body = parseWith(AdminIdentityRequest, request.body);
    noteForAudit(request, { target: customerId, reason: body.reason, detail: { action: body.action, identity: `${body.kind}:${body.externalId}` } });
    return changeIdentity({ store: deps.db.store, sql: deps.db.sql, now }, customerId, body, { actor: actorOf(request), correlationId: request.id });
  });
}
