import type { AdminIdentityRequest, AdminOverrideRequest } from '../../contracts/api/adminApi.ts';
import { domainEvent, type DomainEvent, type FactEvent } from '../../contracts/domainEvents.ts';
import type { Actor, NewEvent } from '../../contracts/eventMetadata.ts';
import type { LifecycleState } from '../../contracts/events/vocabulary.ts';
import { emailIdentityId } from '../../contracts/inbound/emailAddress.ts';
import { customerDecider } from '../../domain/customerDecider.ts';
import { ConcurrencyError, IdentityConflictError, LedgerError } from '../../domain/errors.ts';
import { streamIdOf } from '../commands/customerIds.ts';
import { handleCommand, type CommandDeps } from '../commands/handleCommand.ts';
import { loadCustomer } from '../commands/loadCustomer.ts';
import type { SqlExecutor } from '../eventstore/sqlClient.ts';
import { waitingClaimsOf } from '../ingest/waitingClaims.ts';

// Human decisions on one customer, appended as events that carry the actor (and, for overrides,
// the role and the reason), so they show in the timeline as well as in the audit log.

export interface AdminCommandAccepted {
  customerId: string;
  eventIds: string[];
  version: number;
  lifecycle: LifecycleState;
  events: string[];
}

export interface AdminContext {
  actor: Actor;
  correlationId: string;
}

// The domain checks the role: set_state is the admin's, resolve_review support's or the admin's.
export async function applyOverride(deps: CommandDeps, customerId: string, request: AdminOverrideRequest, context: AdminContext): Promise<AdminCommandAccepted> {
  const { action, to, reason } = request;
  const result = await handleCommand(deps, {
    command: { type: 'ApplyManualOverride', action, reason, actor: context.actor, ...(to === undefined ? {} : { to }) },
    customerId,
    identities: [],
    createIfMissing: false,
    metadata: { source: 'admin', correlationId: context.correlationId, actor: context.actor },
  });
  const { state } = await loadCustomer(deps.store, customerId, result.version);
  return { customerId, eventIds: result.eventIds, version: result.version, lifecycle: state.lifecycle, events: result.decided.map((e) => e.type) };
}

const MAX_ATTEMPTS = 8;

// Not through handleCommand: it links every claim it is given with an IdentityLinked of its own,
// which would record this link twice. Same shape otherwise: load, decide, append at the expected
// version with the identity claimed in the append itself (so two customers never own it).
export async function changeIdentity(
  deps: CommandDeps & { sql: SqlExecutor },
  customerId: string,
  request: AdminIdentityRequest,
  context: AdminContext,
): Promise<AdminCommandAccepted> {
  const { kind, action, reason } = request;
  const externalId = kind === 'email' ? emailIdentityId(request.externalId) : request.externalId;
  for (let attempt = 1; ; attempt += 1) {
    const loaded = await loadCustomer(deps.store, customerId);
    if (loaded.version === undefined) throw new LedgerError('LEDGER_NOT_FOUND', 'No customer matches this reference');
    const linked = loaded.state.identities.some((identity) => identity.kind === kind && identity.externalId === externalId);
    const owner = await deps.store.resolveIdentity(kind, externalId);
    const now = deps.now().toISOString();

    let fact: FactEvent;
    if (action === 'link') {
      if (linked) throw new LedgerError('LEDGER_ILLEGAL_STATE', `${kind}:${externalId} is already linked to this customer`);
      if (owner !== undefined && owner !== customerId) throw new IdentityConflictError(kind, externalId, owner);
      fact = domainEvent('IdentityLinked', { occurredAt: now, kind, externalId });
    } else {
      if (!linked) {
        // An unlink whose event was appended but whose map row outlived it (see below): finish it.
        if (owner === customerId) {
          await unmapIdentity(deps.sql, kind, externalId, customerId);
          return { customerId, eventIds: [], version: loaded.version, lifecycle: loaded.state.lifecycle, events: [] };
        }
        throw new LedgerError('LEDGER_ILLEGAL_STATE', `${kind}:${externalId} is not linked to this customer`);
      }
      fact = domainEvent('IdentityUnlinked', { occurredAt: now, kind, externalId, reason });
    }

    const decided = customerDecider.decide({ type: 'RecordFact', fact }, loaded.state, { now });
    const events: NewEvent[] = decided.map((event) => ({
      ...event,
      metadata: { customerId, occurredAt: now, source: 'admin', correlationId: context.correlationId, actor: context.actor },
    }));
    try {
      const result = await deps.store.append(streamIdOf(customerId), events, {
        expectedVersion: loaded.version,
        ...(action === 'link' ? { identities: [{ kind, externalId }] } : {}),
      });
      // The port has no "release a claim in the append": the map row goes right after the event,
      // and a failure between the two is finished by repeating the unlink (above).
      if (action === 'unlink') await unmapIdentity(deps.sql, kind, externalId, customerId);
      // A delivery kept unmatched until this id was known (a refund for it) can go on now.
      else waitingClaimsOf(deps.store).arrived([{ kind, externalId }]);
      const state = decided.reduce(customerDecider.evolve, loaded.state);
      return { customerId, eventIds: result.eventIds, version: result.nextVersion, lifecycle: state.lifecycle, events: decided.map((e: DomainEvent) => e.type) };
    } catch (error) {
      if (attempt < MAX_ATTEMPTS && error instanceof ConcurrencyError) continue;
      throw error;
    }
  }
}

async function unmapIdentity(sql: SqlExecutor, kind: string, externalId: string, customerId: string): Promise<void> {
  await sql.query('delete from ledger_identities where kind = $1 and external_id = $2 and customer_id = $3', [kind, externalId, customerId]);
}
