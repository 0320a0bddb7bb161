import { domainEvent, parseDomainEvent, type DomainEvent } from '../../contracts/domainEvents.ts';
import type { EventMetadata, NewEvent, RecordedEvent } from '../../contracts/eventMetadata.ts';
import type { AmbiguousIdentity } from '../../contracts/events/decisions.ts';
import type { IdentityKind } from '../../contracts/events/vocabulary.ts';
import type { CustomerCommand } from '../../domain/customerCommands.ts';
import { customerDecider, historyNeeded } from '../../domain/customerDecider.ts';
import { ConcurrencyError, IdentityConflictError, LedgerError } from '../../domain/errors.ts';
import { evolve } from '../../domain/customerState.ts';
import { candidateOf, matchCandidate, type OwnedClaim } from '../../domain/identityMatch.ts';
import type { EventStore, IdentityClaim, InboxRecord } from '../eventstore/port.ts';
import { customerIdOfStream, newCustomerId, streamIdOf } from './customerIds.ts';
import { customerCacheOf, type CustomerCache, type FoldedCustomer } from './customerCache.ts';
import { foldCustomer, toDomainEvent, type LoadedCustomer } from './loadCustomer.ts';

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
  // The delivery this command came from, kept in the inbox with the append (one commit).
  inbox?: InboxRecord;
}

export interface CommandResult {
  customerId: string;
  duplicate: boolean;
  eventIds: string[];
  version: number;
  decided: DomainEvent[];
  // Set when the envelope's inbox record was kept with the append; else the caller keeps it.
  inboxId?: string;
}

export interface CommandDeps {
  store: EventStore;
  now: () => Date;
}

// A burst of deliveries for one customer serialises on its stream version; past this many lost
// races the caller is told to retry later (503) rather than a 4xx it must not retry.
const MAX_ATTEMPTS = 25;
const backoff = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));

export class CustomerNotFoundError extends LedgerError {
  constructor() {
    super('LEDGER_NOT_FOUND', 'No customer matches the given identities');
  }
}

// load -> decide -> append with the expected version; on a lost race, load again and retry.
export async function handleCommand(deps: CommandDeps, envelope: CommandEnvelope): Promise<CommandResult> {
  const { store } = deps;
  const cache = customerCacheOf(store);
  // The customer this command is probably about, if this process has folded it before: the
  // store then sends only what was appended since.
  const hinted = envelope.customerId ?? cache.ownerHint(envelope.identities);
  const folded = hinted === undefined ? undefined : cache.get(hinted);
  // One round trip: a re-delivery stops here; a new one has its owners and likely stream.
  const context = await store.loadCommandContext({
    ...(envelope.idempotencyKey ? { idempotencyKey: envelope.idempotencyKey } : {}),
    claims: envelope.identities,
    ...(envelope.customerId ? { ownerId: envelope.customerId } : {}),
    streamIdPrefix: streamIdOf(''),
    ...(hinted !== undefined && folded ? { known: { customerId: hinted, version: folded.version } } : {}),
  });
  if (context.seen) return duplicateResult(context.seen.streamId, context.seen.eventIds, context.seen.nextVersion);
  for (let attempt = 1; ; attempt += 1) {
    const first = attempt === 1;
    const owners = first ? context.owners : await store.resolveIdentities(envelope.identities);
    const preloaded = first ? context.stream : undefined;
    const load = (customerId: string): Promise<CustomerAt> =>
      preloaded?.ownerId === customerId
        ? Promise.resolve(foldedAt(cache, customerId, preloaded.afterVersion > 0 ? folded : undefined, preloaded.events))
        : loadThroughCache(store, cache, customerId);
    const target = await resolveCustomer(load, envelope, owners);
    try {
      const result = await decideAndAppend(deps, envelope, target);
      rememberOwners(cache, envelope.identities, owners, result.customerId);
      return result;
    } catch (error) {
      // Lost a race (another delivery appended to, or created, this customer a moment ago):
      // resolve and decide again on what is there now.
      if (!(error instanceof IdentityConflictError || error instanceof ConcurrencyError)) throw error;
      if (attempt >= MAX_ATTEMPTS) throw new LedgerError('LEDGER_BUSY', 'Too many concurrent writes for this customer; retry shortly');
      // The first retries are immediate; a longer losing streak spreads the writers out.
      if (attempt > 2) await backoff(attempt);
    }
  }
}

const keyOf = (claim: { kind: string; externalId: string }) => `${claim.kind}:${claim.externalId}`;

// A customer's state at a version (undefined: no stream yet).
type CustomerAt = Omit<LoadedCustomer, 'events'>;

// `base` is the fold up to the version the events continue from (none: they are the whole stream).
function foldedAt(cache: CustomerCache, customerId: string, base: FoldedCustomer | undefined, events: RecordedEvent[]): CustomerAt {
  // Folding a tail onto the wrong base would decide on a state the customer never had.
  const first = events[0];
  if (first && first.version !== (base?.version ?? 0) + 1) {
    throw new Error(`stream of ${customerId} read from version ${first.version}, expected ${(base?.version ?? 0) + 1}`);
  }
  const state = foldCustomer(events, base?.state);
  const version = events.at(-1)?.version ?? base?.version;
  if (version !== undefined) cache.remember(customerId, { state, version });
  return { customerId, state, version };
}

async function loadThroughCache(store: EventStore, cache: CustomerCache, customerId: string): Promise<CustomerAt> {
  const base = cache.get(customerId);
  const events = await store.readStream(streamIdOf(customerId), base ? { fromVersion: base.version + 1 } : {});
  return foldedAt(cache, customerId, base, events);
}

// Claims the customer owned when read, and those the append just gave it. Person ids only: a
// lookup key (a charge, an invoice) is named once or twice and would crowd the hints out.
function rememberOwners(cache: CustomerCache, claims: IdentityClaim[], owners: Map<string, string>, customerId: string): void {
  for (const claim of claims) {
    if (!PERSON_KINDS.has(claim.kind)) continue;
    const owner = owners.get(keyOf(claim));
    if (owner === undefined || owner === customerId) cache.rememberOwner(claim, customerId);
  }
}

interface Target {
  loaded: CustomerAt;
  // Unowned claims, asserted in the append: an id that already belongs to someone is not stolen.
  claims: IdentityClaim[];
  ambiguousIdentity?: AmbiguousIdentity;
}

// The candidate is the owner of the strongest claim that has one; the domain decides whether it
// is the customer (identityMatch.ts). It is judged on the state loaded at the version the append
// expects, so a concurrent link of a second Stripe id to it fails the append and is re-judged.
async function resolveCustomer(
  load: (customerId: string) => Promise<CustomerAt>,
  envelope: CommandEnvelope,
  owners: Map<string, string>,
): Promise<Target> {
  const claims: OwnedClaim[] = envelope.identities.map((claim) => ({ ...claim, owner: owners.get(keyOf(claim)) }));
  const unowned = envelope.identities.filter((_, index) => claims[index]?.owner === undefined);
  if (envelope.customerId) return { loaded: await load(envelope.customerId), claims: unowned };
  const candidate = candidateOf(claims);
  if (candidate !== undefined) {
    const loaded = await load(candidate);
    const { identities, sharedIdentitiesFlagged = [] } = loaded.state;
    const match = matchCandidate(claims, { customerId: candidate, identities, sharedIdentitiesFlagged });
    switch (match.kind) {
      case 'same_customer':
        return { loaded, claims: unowned };
      case 'shares_identity':
        return { loaded, claims: unowned, ambiguousIdentity: match.identity };
      case 'new_customer':
        if (!envelope.createIfMissing) throw new CustomerNotFoundError();
        return { loaded: newCustomer(), claims: unowned, ambiguousIdentity: match.identity };
      default: {
        const unhandled: never = match;
        throw new Error(`Unhandled identity match ${JSON.stringify(unhandled)}`);
      }
    }
  }
  if (!envelope.createIfMissing || envelope.identities.length === 0) throw new CustomerNotFoundError();
  return { loaded: newCustomer(), claims: unowned };
}

const newCustomer = (): CustomerAt => ({ customerId: newCustomerId(), state: customerDecider.initialState, version: undefined });

async function decideAndAppend(deps: CommandDeps, envelope: CommandEnvelope, target: Target): Promise<CommandResult> {
  const { store } = deps;
  const { loaded, claims } = target;
  const { customerId } = loaded;
  const now = deps.now().toISOString();
  // A late billing fact (and a move once facts arrived out of order) is decided with the
  // customer's recorded events, so that arrival order does not date their state
  // (domain/sinceInOrder.ts): one more read, for those only.
  const history =
    loaded.version !== undefined && historyNeeded(envelope.command, loaded.state)
      ? (await store.readStream(streamIdOf(customerId), { toVersion: loaded.version })).map(toDomainEvent)
      : undefined;
  const context = {
    now,
    ...(target.ambiguousIdentity ? { ambiguousIdentity: target.ambiguousIdentity } : {}),
    ...(history ? { history } : {}),
  };
  const decided = customerDecider.decide(envelope.command, loaded.state, context);
  const occurredAt = envelope.command.type === 'RecordFact' ? envelope.command.fact.data.occurredAt : now;

  const known = new Set(loaded.state.identities.map(keyOf));
  const links = claims
    .filter((claim) => PERSON_KINDS.has(claim.kind) && !known.has(keyOf(claim)))
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
    ...(envelope.inbox ? { inbox: envelope.inbox } : {}),
  });
  const inboxId = result.inboxId !== undefined ? { inboxId: result.inboxId } : {};
  if (result.duplicate) return { ...duplicateResult(result.streamId, result.eventIds, result.nextVersion), ...inboxId };
  // The append held its expected version, so the stream is now exactly the folded state and
  // these events: the next delivery for this customer can start from here. Folded as the store
  // will give them back (stored as JSON, read through the upcasters), not as decided.
  const stored = events.map((event) => parseDomainEvent(event.type, event.schemaVersion, JSON.parse(JSON.stringify(event.data)) as unknown));
  customerCacheOf(store).remember(customerId, { state: stored.reduce(evolve, loaded.state), version: result.nextVersion });
  return { customerId, duplicate: false, eventIds: result.eventIds, version: result.nextVersion, decided: toAppend, ...inboxId };
}

function duplicateResult(streamId: string, eventIds: string[], version: number): CommandResult {
  return { customerId: customerIdOfStream(streamId), duplicate: true, eventIds, version, decided: [] };
}
