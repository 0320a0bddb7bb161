import { RedeliveryRequest } from '../../contracts/api/redelivery.ts';
import { parseWith } from '../../contracts/parseBody.ts';
import type { RouteModule } from '../http/app.ts';
import { requireScope } from '../http/apiKeyAuth.ts';
import { redeliver, redeliveryTarget, todaysSources } from '../operations/redeliver.ts';
import { auditAdminRequests, noteForAudit } from './adminAccess.ts';

// POST /admin/redeliveries: `ledger redeliver` through the running service, for when it holds the
// embedded store. Admin only: it appends facts. Audited like every admin request.
export const redeliverRoutes: RouteModule = (scope, deps) => {
  scope.removeContentTypeParser('text/plain');
  auditAdminRequests(scope, deps);
  const onRequest = requireScope(deps.config, 'admin');
  const sources = todaysSources(deps.config);
  const now = deps.now ?? (() => new Date());
  scope.post('/admin/redeliveries', { onRequest }, async (request) => {
    const body = parseWith(RedeliveryRequest, request.body);
    noteForAudit(request, { target: redeliveryTarget(body) });
    const report = await redeliver({ store: deps.db.store, sql: deps.db.sql, now }, sources, body);
    noteForAudit(request, { detail: { totals: report.totals } });
    return report;
  });
};
