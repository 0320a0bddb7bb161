import type { FastifyInstance } from 'fastify';
import { AuditQuery, ParkedIdParams, ParkedQuery, ParkedRetryRequest, ParkedSkipRequest, ProjectionParams } from '../../contracts/api/adminApi.ts';
import { parseWith } from '../../contracts/parseBody.ts';
import { requireScope } from '../http/apiKeyAuth.ts';
import type { AppDeps } from '../http/app.ts';
import { listParkedEvents, retryParked, skipParkedEvent } from '../operations/parkedOperations.ts';
import { projectionsStatus, rebuildProjection } from '../operations/projectionOperations.ts';
import { actorOf, noteForAudit } from './adminAccess.ts';
import { listAudit } from './auditLog.ts';

// The projection runtime's knobs (parked events, status, rebuild) and the audit log itself.
// Reading is the viewer's; changing what consumers see is the admin's.
export function adminOperationRoutes(scope: FastifyInstance, deps: AppDeps): void {
  const viewer = requireScope(deps.config, 'viewer');
  const admin = requireScope(deps.config, 'admin');
  const { db, config } = deps;

  scope.get('/admin/parked', { onRequest: viewer }, async (request) => listParkedEvents(db.sql, parseWith(ParkedQuery, request.query)));

  scope.post('/admin/parked/retry', { onRequest: admin }, async (request) => {
    const body = parseWith(ParkedRetryRequest, request.body);
    noteForAudit(request, { target: 'all' in body ? 'all' : body.ids.join(','), detail: { action: 'retry' } });
    const result = await retryParked(db, config, body, actorOf(request).id);
    noteForAudit(request, { detail: { drained: result.drained } });
    return result;
  });

  scope.post('/admin/parked/:id/skip', { onRequest: admin }, async (request) => {
    const { id } = parseWith(ParkedIdParams, request.params);
    const { reason } = parseWith(ParkedSkipRequest, request.body);
    noteForAudit(request, { reason, detail: { action: 'skip' } });
    return skipParkedEvent(db, config, id, actorOf(request).id, reason);
  });

  scope.get('/admin/projections', { onRequest: viewer }, async () => projectionsStatus(db.sql, config));

  // Synchronous: the answer is the rebuild's result. Reads keep being served from the live
  // table until the swap.
  scope.post('/admin/projections/:name/rebuild', { onRequest: admin }, async (request) => {
    const { name } = parseWith(ProjectionParams, request.params);
    const result = await rebuildProjection(db, config, name);
    noteForAudit(request, { detail: { events: result.events, position: result.position } });
    return result;
  });

  scope.get('/admin/audit', { onRequest: admin }, async (request) => listAudit(db.sql, parseWith(AuditQuery, request.query)));
}
