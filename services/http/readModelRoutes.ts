import type { FastifyReply, FastifyRequest } from 'fastify';
import { CustomerRefParams } from '../../contracts/api/customerView.ts';
import { ChangesQuery, ReadModelQuery } from '../../contracts/api/readModelViews.ts';
import { parseWith } from '../../contracts/parseBody.ts';
import { LedgerError } from '../../domain/errors.ts';
import { hasAccessAt, type AppEntitlements } from '../../projections/readModels.ts';
import type { ReadModelName } from '../../projections/projection.ts';
import type { ApiKeyScope } from '../config.ts';
import type { SqlExecutor } from '../eventstore/sqlClient.ts';
import { requireScope } from './apiKeyAuth.ts';
import type { AppDeps, RouteModule } from './app.ts';
import { customerIdOf, matchesAny } from './customerRef.ts';
import { waitUntil, type WaitCheck } from './readModelWaiter.ts';

interface ReadModelApi {
  model: ReadModelName;
  path: string;
  scopes: ApiKeyScope[];
}

// The documents sync workers and the app read. Table names come from this fixed list only.
export const readModelApis: ReadModelApi[] = [
  { model: 'crm', path: '/v1/crm/contacts/:ref', scopes: ['read'] },
  { model: 'support', path: '/v1/support/profiles/:ref', scopes: ['read'] },
  { model: 'app', path: '/v1/app/entitlements/:ref', scopes: ['app', 'read'] },
];

type Doc = { version: number } & Record<string, unknown>;

async function loadDoc(sql: SqlExecutor, model: ReadModelName, customerId: string): Promise<Doc | undefined> {
  const { rows } = await sql.query<{ doc: Doc | null }>(`select doc from read_${model} where customer_id = $1`, [customerId]);
  return rows[0]?.doc ?? undefined;
}

export const readModelRoutes: RouteModule = (scope, deps) => {
  // A stop answers the long-polls at once, as if their time were up: they waited out theirs (up
  // to 60 s) past the drain's 8 s, their clients got a cut connection and the process exit 1.
  const stopping = new AbortController();
  scope.addHook('preClose', async () => stopping.abort());
  for (const api of readModelApis) {
    scope.get(api.path, { onRequest: requireScope(deps.config, api.scopes) }, (request, reply) => readDocument(deps, api, request, reply, stopping.signal));
    const changesPath = `/v1/${api.model}/changes`;
    scope.get(changesPath, { onRequest: requireScope(deps.config, 'read') }, (request) => readChanges(deps, api.model, request, stopping.signal));
  }
};

async function readDocument(deps: AppDeps, api: ReadModelApi, request: FastifyRequest, reply: FastifyReply, stopping: AbortSignal) {
  const { ref } = parseWith(CustomerRefParams, request.params);
  const query = parseWith(ReadModelQuery, request.query);
  const customerId = await customerIdOf(deps.db.store, ref);
  if (customerId === undefined) throw new LedgerError('LEDGER_NOT_FOUND', 'No customer matches this reference');

  let doc = await loadDoc(deps.db.sql, api.model, customerId);
  if (query.waitForVersion !== undefined && (doc?.version ?? 0) < query.waitForVersion) {
    const aborted = new AbortController();
    request.raw.once('close', () => aborted.abort());
    await waitUntil(
      deps.projector,
      api.model,
      async () => {
        doc = await loadDoc(deps.db.sql, api.model, customerId);
        return (doc?.version ?? 0) >= query.waitForVersion!;
      },
      query.timeoutMs,
      AbortSignal.any([aborted.signal, stopping]),
    );
  }
  if (doc === undefined) throw new LedgerError('LEDGER_NOT_FOUND', `No ${api.model} document for this customer yet`);

  const etag = `"${customerId}.${api.model}.${doc.version}"`;
  reply.header('etag', etag).header('cache-control', 'private, no-cache');
  if (matchesAny(request.headers['if-none-match'], etag)) return reply.code(304).send();
  if (api.model === 'app') {
    const now = (deps.now ?? (() => new Date()))().toISOString();
    // The app table holds only documents the app read model wrote.
    return { ...doc, hasAccess: hasAccessAt(doc as unknown as AppEntitlements, now) };
  }
  return doc;
}

// Only changes of transactions older than every running one: the cursor's high bits are the
// writer's transaction id, so nothing can still commit behind a cursor a page hands out.
async function readChanges(deps: AppDeps, model: ReadModelName, request: FastifyRequest, stopping: AbortSignal) {
  const query = parseWith(ChangesQuery, request.query);
  const page = () =>
    deps.db.sql.query<{ cursor: string; customer_id: string; position: string; doc: Record<string, unknown> | null }>(
      `select c.cursor::text as cursor, c.customer_id, c.position::text as position, r.doc
         from read_${model}_changes c left join read_${model} r on r.customer_id = c.customer_id
        where c.cursor > $1::bigint and c.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        order by c.cursor limit $2::int`,
      [query.after, query.limit],
    );
  // Committed after the cursor but still behind the fence: worth a look again in a moment.
  const pending = async () =>
    (
      await deps.db.sql.query<{ pending: boolean }>(`select exists (select 1 from read_${model}_changes c where c.cursor > $1::bigint) as pending`, [
        query.after,
      ])
    ).rows[0]?.pending === true;
  // One check serves the first read and every wake-up of the long-poll (waitUntil runs it at once).
  let rows: Awaited<ReturnType<typeof page>>['rows'] = [];
  const check = async (): Promise<WaitCheck> => {
    rows = (await page()).rows;
    if (rows.length > 0) return true;
    return query.timeoutMs > 0 && (await pending()) ? 'soon' : false;
  };
  await waitUntil(deps.projector, model, check, query.timeoutMs, stopping);
  return {
    changes: rows.map((r) => ({ cursor: r.cursor, customerId: r.customer_id, position: r.position, doc: r.doc })),
    nextCursor: rows.at(-1)?.cursor ?? query.after,
  };
}
