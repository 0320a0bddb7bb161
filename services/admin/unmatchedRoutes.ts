import type { RouteModule } from '../http/app.ts';
import { requireScope } from '../http/apiKeyAuth.ts';
import { unmatchedReport } from '../operations/unmatchedDeliveries.ts';

// GET /admin/unmatched: `ledger unmatched` through the running service, for when it holds the
// embedded store. Ids, claims and times only (no e-mail address), so a viewer may read it.
export const unmatchedRoutes: RouteModule = (scope, { config, db, now }) => {
  const onRequest = requireScope(config, 'viewer');
  scope.get('/admin/unmatched', { onRequest }, async () => unmatchedReport(db.sql, config.inbox.unmatchedRetry, (now ?? (() => new Date()))()));
};
