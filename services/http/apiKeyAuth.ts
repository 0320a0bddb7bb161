import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LedgerError } from '../../domain/errors.ts';
import type { ApiKeyScope, LedgerConfig } from '../config.ts';

// Scopes a key holds beyond the ones it lists. The people roles nest (admin ⊇ support ⊇ viewer)
// and every one of them may read. `app` is never implied: a key that writes on the app's behalf
// is issued for that alone, and an admin console key cannot pose as the app.
const IMPLIED: Record<ApiKeyScope, readonly ApiKeyScope[]> = {
  app: [],
  read: [],
  viewer: ['read'],
  support: ['viewer', 'read'],
  admin: ['support', 'viewer', 'read'],
};

export interface ApiPrincipal {
  // A short, non-secret name for the key (a sha256 prefix): idempotency keys are scoped by it,
  // and it is safe to log and store, unlike the key.
  fingerprint: string;
  scopes: ReadonlySet<ApiKeyScope>;
}

interface KnownKey {
  digest: Buffer;
  principal: ApiPrincipal;
}

const REALM = 'Bearer realm="customer-ledger"';
// Any visible characters, not only RFC 6750's b64token: LEDGER_API_KEYS may hold keys with ':'.
const BEARER = /^Bearer[ \t]+([\x21-\x7E]+)[ \t]*$/i;

const digestOf = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

export function effectiveScopes(scopes: readonly ApiKeyScope[]): Set<ApiKeyScope> {
  return new Set(scopes.flatMap((scope) => [scope, ...IMPLIED[scope]]));
}

export function knownKeysOf(config: LedgerConfig): KnownKey[] {
  return config.apiKeys.map(({ key, scopes }) => {
    const digest = digestOf(key);
    return { digest, principal: { fingerprint: digest.toString('hex').slice(0, 16), scopes: effectiveScopes(scopes) } };
  });
}

// Compares digests, not keys, so the comparison takes the same time whatever the presented
// key's length, and visits every known key so the time does not tell which one came close.
export function authenticate(keys: readonly KnownKey[], presented: string): ApiPrincipal | undefined {
  const digest = digestOf(presented);
  let found: ApiPrincipal | undefined;
  for (const known of keys) {
    if (timingSafeEqual(known.digest, digest)) found = known.principal;
  }
  return found;
}

export function bearerTokenOf(header: string | undefined): string | undefined {
  return header === undefined ? undefined : BEARER.exec(header)?.[1];
}

const principals = new WeakMap<FastifyRequest, ApiPrincipal>();

// The key that passed requireScope on this request.
export function principalOf(request: FastifyRequest): ApiPrincipal {
  const principal = principals.get(request);
  if (principal === undefined) throw new LedgerError('LEDGER_INTERNAL', 'Route reads a principal but has no requireScope hook');
  return principal;
}

// A route hook: `Authorization: Bearer <key>` must name a configured key holding `scope`.
// Registered as onRequest, so an unauthenticated request is refused before its body is read.
// Answers follow RFC 6750: 401 with a WWW-Authenticate challenge, 403 for a missing scope.
// Given several scopes, any one of them admits the request (the app reads its entitlements with
// an `app` key, a sync worker with a `read` key).
export function requireScope(
  config: LedgerConfig,
  required: ApiKeyScope | readonly ApiKeyScope[],
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const keys = knownKeysOf(config);
  const anyOf: readonly ApiKeyScope[] = typeof required === 'string' ? [required] : required;
  const scope = anyOf.join(' ');
  return async function apiKeyAuth(request, reply) {
    const presented = bearerTokenOf(request.headers.authorization);
    const principal = presented === undefined ? undefined : authenticate(keys, presented);
    if (principal === undefined) {
      reply.header('www-authenticate', presented === undefined ? REALM : `${REALM}, error="invalid_token"`);
      throw new LedgerError('LEDGER_UNAUTHENTICATED', 'Send a known API key as `Authorization: Bearer <key>`');
    }
    if (!anyOf.some((candidate) => principal.scopes.has(candidate))) {
      reply.header('www-authenticate', `${REALM}, error="insufficient_scope", scope="${scope}"`);
      throw new LedgerError('LEDGER_FORBIDDEN', `This API key lacks the ${scope} scope`, { requiredScope: scope });
    }
    principals.set(request, principal);
  };
}
