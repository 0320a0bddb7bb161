import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Actor } from '../../contracts/eventMetadata.ts';
import { LedgerError } from '../../domain/errors.ts';
import type { ApiKeyScope } from '../config.ts';
import { authenticate, bearerTokenOf, knownKeysOf, type ApiPrincipal } from '../http/apiKeyAuth.ts';
import type { AppDeps } from '../http/app.ts';
import { recordAudit } from './auditLog.ts';

// Who is calling the admin API, and the audit row every admin request leaves behind — refused
// ones too, with whatever principal was recognised (none for a missing or unknown key).

export type AdminRole = 'viewer' | 'support' | 'admin';

const ROLES_STRONGEST_FIRST: readonly AdminRole[] = ['admin', 'support', 'viewer'];

// A key's scopes as one role, the strongest it holds: the domain checks roles, not scopes.
export function roleOf(scopes: ReadonlySet<ApiKeyScope>): AdminRole | null {
  return ROLES_STRONGEST_FIRST.find((role) => scopes.has(role)) ?? null;
}

export const principalId = (principal: ApiPrincipal): string => `apikey:${principal.fingerprint}`;

interface AdminRequestContext {
  principal: ApiPrincipal | undefined;
  credential: 'none' | 'unknown' | 'known';
  target: string | null;
  reason: string | null;
  detail: Record<string, unknown>;
}

const contexts = new WeakMap<FastifyRequest, AdminRequestContext>();

function contextOf(request: FastifyRequest): AdminRequestContext {
  const context = contexts.get(request);
  if (context === undefined) throw new LedgerError('LEDGER_INTERNAL', 'Admin route registered outside the audited scope');
  return context;
}

// What a handler adds to its audit row: the resolved target, the reason given, a few details.
export function noteForAudit(request: FastifyRequest, note: { target?: string; reason?: string; detail?: Record<string, unknown> }): void {
  const context = contextOf(request);
  if (note.target !== undefined) context.target = note.target;
  if (note.reason !== undefined) context.reason = note.reason;
  if (note.detail !== undefined) Object.assign(context.detail, note.detail);
}

// The actor recorded on events this request appends. requireScope has admitted the key by now.
export function actorOf(request: FastifyRequest): Actor {
  const { principal } = contextOf(request);
  const role = principal === undefined ? null : roleOf(principal.scopes);
  if (principal === undefined || role === null) throw new LedgerError('LEDGER_INTERNAL', 'Admin route without an admitted principal');
  return { id: principalId(principal), role };
}

// Scope-level hooks: they run before each route's requireScope (onRequest) and after the reply
// is built (onSend), so the 401/403 a route hook throws is audited like any other answer. The
// row is written before the reply leaves: a client that saw its answer can find its audit entry.
export function auditAdminRequests(scope: FastifyInstance, deps: AppDeps): void {
  const keys = knownKeysOf(deps.config);
  scope.addHook('onRequest', async (request) => {
    const presented = bearerTokenOf(request.headers.authorization);
    const principal = presented === undefined ? undefined : authenticate(keys, presented);
    contexts.set(request, {
      principal,
      credential: presented === undefined ? 'none' : principal === undefined ? 'unknown' : 'known',
      target: targetOf(request.params),
      reason: null,
      detail: {},
    });
  });
  scope.addHook('onSend', async (request, reply, payload) => {
    const context = contexts.get(request);
    if (context === undefined) return payload;
    try {
      await recordAudit(deps.db.sql, {
        principal: context.principal === undefined ? null : principalId(context.principal),
        role: context.principal === undefined ? null : roleOf(context.principal.scopes),
        method: request.method,
        route: request.routeOptions.url ?? request.url.split('?')[0] ?? '',
        target: context.target,
        reason: context.reason,
        status: reply.statusCode,
        correlationId: request.id,
        detail: { credential: context.credential, ...context.detail },
      });
    } catch (error) {
      // The change (if any) is already durable; failing the answer now would invite a retry of it.
      request.log.error({ err: error }, 'admin audit record failed');
    }
    return payload;
  });
}

// The route's own subject (customer ref, parked id, read model) until the handler resolves it.
function targetOf(params: unknown): string | null {
  if (typeof params !== 'object' || params === null) return null;
  const named = Object.entries(params).find(([key, value]) => ['ref', 'id', 'name'].includes(key) && typeof value === 'string');
  return named === undefined ? null : String(named[1]).slice(0, 512);
}
