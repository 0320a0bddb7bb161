import { domainEvent, type DomainEvent } from '../../contracts/domainEvents.ts';
import type { EventMetadata, NewEvent } from '../../contracts/eventMetadata.ts';
import type { IdentityKind } from '../../contracts/events/vocabulary.ts';
import type { CustomerCommand } from '../../domain/customerCommands.ts';
import { customerDecider } from '../../domain/customerDecider.ts';
import { ConcurrencyError, IdentityConflictError, LedgerError } from '../../domain/errors.ts';
import type { EventStore, IdentityClaim } from '../eventstore/port.ts';
import { customerIdOfStream, newCustomerId, streamIdOf } from './customerIds.ts';
import { loadCustomer } from './loadCustomer.ts';

// Identity kinds that name a person (linked with an IdentityLinked fact); other claims, such as
// `stripe_charge`, are lookup keys only (a refund names a charge, not a customer).
const PERSON_KINDS = new Set<string>(['stripe', 'crm', 'support', 'app', 'email']);

export interface CommandEnvelope {
  command: CustomerCommand;
  // The customer, when the caller knows it (admin); else resolved from `identities`.
  customerId?: string;
  // External ids naming the customer, strongest first. Unknown ones are claimed for it.
  identities: IdentityClaim[];
  // Whether an unknown customer may be created (a refund for nobody we know must not be).
  createIfMissing: boolean;
  idempotencyKey?: { source: string; sourceEventId: string };
  metadata: Omit<EventMetadata, 'customerId' | 'occurredAt'>;
}

export interface CommandResult {
  customerId: string;
  duplicate: boolean;
  eventIds: string[];
  version: number;
  decided: DomainEvent[];
}

export interface CommandDeps {
  store: EventStore;
  now: () => Date;
}

const MAX_ATTEMPTS = 8;

export class CustomerNotFoundError extends LedgerError {
  constructor() {
    super('LEDGER_NOT_FOUND', 'No customer matches the given identities');
  }
}

// load -> decide -> append with the expected version; on a lost race, load again and retry.
export async function handleCommand(deps: CommandDeps, envelope: CommandEnvelope): Promise<CommandResult> {
  const { store } = deps;
  if (envelope.idempotencyKey) {
    const seen = await store.findDelivery(envelope.idempotencyKey);
    if (seen) return duplicateResult(seen.streamId, seen.eventIds, seen.nextVersion);
  }
  for (let attempt = 1; ; attempt += 1) {
    const { customerId, claims } = await resolveCustomer(store, envelope);
    try {
      return await decideAndAppend(deps, envelope, customerId, claims);
    } catch (error) {
      // Lost a race (another delivery appended to, or created, this customer a moment ago):
      // resolve and decide again on what is there now.
      if (attempt < MAX_ATTEMPTS && (error instanceof IdentityConflictError || error instanceof ConcurrencyError)) continue;
      throw error;
    }
  }
}

// The customer is the owner of the strongest claim that has one. Only unowned claims are
// asserted in the append: an email that already belongs to someone else is not stolen.
async function resolveCustomer(store: EventStore, envelope: CommandEnvelope): Promise<{ customerId: string; claims: IdentityClaim[] }> {
  const owners = await store.resolveIdentities(envelope.identities);
  const key = (claim: IdentityClaim) => `${claim.kind}:${claim.externalId}`;
  const unowned = envelope.identities.filter((claim) => !owners.has(key(claim)));
  if (envelope.customerId) return { customerId: envelope.customerId, claims: unowned };
  const owned = envelope.identities.find((claim) => owners.has(key(claim)));
  if (owned) return { customerId: owners.get(key(owned))!, claims: unowned };
  if (!envelope.createIfMissing || envelope.identities.length === 0) throw new CustomerNotFoundError();
  return { customerId: newCustomerId(), claims: unowned };
}

async function decideAndAppend(
  deps: CommandDeps,
  envelope: CommandEnvelope,
  customerId: string,
  claims: IdentityClaim[],
): Promise<CommandResult> {
  const { store } = deps;
  const loaded = await loadCustomer(store, customerId);
  const now = deps.now().toISOString();
  const decided = customerDecider.decide(envelope.command, loaded.state, { now });
  const occurredAt = envelope.command.type === 'RecordFact' ? envelope.command.fact.data.occurredAt : now;

  const known = new Set(loaded.state.identities.map((i) => `${i.kind}:${i.externalId}`));
  const links = claims
    .filter((claim) => PERSON_KINDS.has(claim.kind) && !known.has(`${claim.kind}:${claim.externalId}`))
    .map((claim) => domainEvent('IdentityLinked', { occurredAt, kind: claim.kind as IdentityKind, externalId: claim.externalId }));
  const toAppend = [...links, ...decided];

  const metadata = (event: DomainEvent): EventMetadata => ({
    ...envelope.metadata,
    customerId,
    occurredAt: 'occurredAt' in event.data && typeof event.data.occurredAt === 'string' ? event.data.occurredAt : occurredAt,
  });
  const events: NewEvent[] = toAppend.map((event) => ({ ...event, metadata: metadata(event) }));
  const result = await store.append(streamIdOf(customerId), events, {
    expectedVersion: loaded.version ?? 'no_stream',
    ...(envelope.idempotencyKey ? { idempotencyKey: envelope.idempotencyKey } : {}),
    identities: claims,
  });
  if (result.duplicate) return duplicateResult(result.streamId, result.eventIds, result.nextVersion);
  return { customerId, duplicate: false, eventIds: result.eventIds, version: result.nextVersion, decided: toAppend };
}

function duplicateResult(streamId: string, eventIds: string[], version: number): CommandResult {
  return { customerId: customerIdOfStream(streamId), duplicate: true, eventIds, version, decided: [] };
}
