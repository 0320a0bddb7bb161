import { LedgerError } from '../../domain/errors.ts';
import type { RouteModule } from '../http/app.ts';
import { requireScope } from '../http/apiKeyAuth.ts';
import { isCorrelationId } from '../telemetry/correlationId.ts';
import { correlationTrail } from '../telemetry/correlationTrail.ts';

// GET /admin/trace/:correlationId: `ledger trace` through the running service, for when it
// holds the embedded store. Ids, types and times only, so a viewer may read it.
export const traceRoutes: RouteModule = (scope, { config, db }) => {
  const onRequest = requireScope(config, 'viewer');
  scope.get<{ Params: { correlationId: string } }>('/admin/trace/:correlationId', { onRequest }, async (request) => {
    const { correlationId } = request.params;
    if (!isCorrelationId(correlationId)) {
      throw new LedgerError('LEDGER_VALIDATION', 'A correlation id is 1-128 characters of A-Z a-z 0-9 . _ : -');
    }
    const trail = await correlationTrail(db.sql, correlationId);
    if (trail.entries.length === 0) throw new LedgerError('LEDGER_NOT_FOUND', 'Nothing kept carries this correlation id');
    return trail;
  });
};
