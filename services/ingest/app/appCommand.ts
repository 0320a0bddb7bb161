import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CommandAccepted } from '../../../contracts/api/commandAccepted.ts';
import { IdempotencyKey } from '../../../contracts/inbound/app.ts';
import { parseWith, storable } from '../../../contracts/parseBody.ts';
import { LedgerError } from '../../../domain/errors.ts';
import { handleCommand } from '../../commands/handleCommand.ts';
import { principalOf } from '../../http/apiKeyAuth.ts';
import type { AppDeps } from '../../http/app.ts';
import { requestTraceparent } from '../../telemetry/httpSpans.ts';
import type { AppFact } from './appTranslator.ts';
import { claimIdempotencyKey, completeIdempotencyKey, releaseIdempotencyKey, type IdempotencyScope } from './idempotencyKeys.ts';
import { requestHashOf } from './requestHash.ts';

export interface AppCommandSpec<Body> {
  // `METHOD /path`: part of the request hash, so one key cannot be reused across routes.
  route: string;
  // The contract: throws LEDGER_VALIDATION naming the field path.
  parse(body: unknown): Body;
  translate(body: Body, receivedAt: Date): AppFact;
  successStatus: number;
}

const JSON_TYPE = 'application/json; charset=utf-8';

const keyReused = () =>
  new LedgerError('LEDGER_IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used for a different request; use a new key for a new request');

function idempotencyKeyOf(request: FastifyRequest): string {
  const header = request.headers['idempotency-key'];
  if (header === undefined || header === '') {
    throw new LedgerError('LEDGER_IDEMPOTENCY_KEY_MISSING', 'Send an Idempotency-Key header (a fresh UUID per logical request)');
  }
  try {
    return parseWith(IdempotencyKey, header);
  } catch {
    const errors = [{ path: 'headers.idempotency-key', message: 'must be 1-255 visible ASCII characters' }];
    throw new LedgerError('LEDGER_VALIDATION', `${errors[0]!.path}: ${errors[0]!.message}`, { errors });
  }
}

// key -> contract -> claim the key -> translate -> handleCommand (durable) -> store the answer.
// A replay answers from the stored row without touching the customer.
export async function runAppCommand<Body>(
  deps: AppDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  spec: AppCommandSpec<Body>,
): Promise<FastifyReply> {
  const principal = principalOf(request);
  const idempotencyKey = idempotencyKeyOf(request);
  const body = spec.parse(storable(request.body));
  const { sql, store } = deps.db;
  const scope: IdempotencyScope = { apiKeyFingerprint: principal.fingerprint, idempotencyKey, requestHash: requestHashOf(spec.route, body) };

  const claim = await claimIdempotencyKey(sql, scope);
  switch (claim.outcome) {
    case 'replay':
      return reply.code(claim.status).header('idempotent-replayed', 'true').type(JSON_TYPE).send(claim.body);
    case 'reused':
      throw keyReused();
    case 'in_flight':
      reply.header('retry-after', '1');
      throw new LedgerError('LEDGER_IDEMPOTENCY_KEY_IN_FLIGHT', 'A request with this Idempotency-Key is still running; retry shortly to get its response');
    case 'claimed':
      break;
    default: {
      const unhandled: never = claim;
      throw new Error(`Unhandled claim ${JSON.stringify(unhandled)}`);
    }
  }

  let answer: string;
  try {
    const now = deps.now ?? (() => new Date());
    const { fact, identities, createIfMissing } = spec.translate(body, now());
    // The same key again at the event store: a re-run after a lost claim row appends nothing.
    const sourceEventId = `${principal.fingerprint}:${idempotencyKey}`;
    const result = await handleCommand(
      { store, now },
      {
        command: { type: 'RecordFact', fact },
        identities,
        createIfMissing,
        idempotencyKey: { source: 'app', sourceEventId },
        metadata: { source: 'app', sourceEventId, requestHash: scope.requestHash, correlationId: request.id, traceparent: requestTraceparent(request) },
      },
    );
    // The key's stored answer expires (idempotencyKeys.ts), the store's de-duplication does not: a
    // key reused for another request after that would get the first request's answer and drop
    // this one. Keys recorded before events carried the hash are not judged.
    if (result.duplicate) {
      const recorded = (await store.recordedMetadata({ source: 'app', sourceEventId }))?.requestHash;
      if (recorded !== undefined && recorded !== scope.requestHash) throw keyReused();
    }
    const accepted: CommandAccepted = {
      customerId: result.customerId,
      eventIds: result.eventIds,
      version: result.version,
      customer: `/v1/customers/${result.customerId}`,
    };
    answer = JSON.stringify(accepted);
  } catch (error) {
    await releaseIdempotencyKey(sql, scope, claim.token).catch((releaseError: unknown) =>
      request.log.warn({ err: releaseError }, 'could not release an idempotency key; it frees itself when its lease lapses'),
    );
    throw error;
  }
  // The events are durable: answer even if the answer cannot be stored. Until the lease lapses a
  // retry hears "in flight"; after it, the retry re-runs, appends nothing and gets this body.
  await completeIdempotencyKey(sql, scope, claim.token, { status: spec.successStatus, body: answer }).catch((storeError: unknown) =>
    request.log.warn({ err: storeError }, 'could not store an idempotent response'),
  );
  return reply.code(spec.successStatus).type(JSON_TYPE).send(answer);
}
