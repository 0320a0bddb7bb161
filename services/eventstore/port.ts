import type { EventMetadata, NewEvent, RecordedEvent } from '../../contracts/eventMetadata.ts';

export type ExpectedVersion = number | 'no_stream' | 'any';

// An external id bound to the stream's customer in the append's own transaction.
export interface IdentityClaim {
  kind: string; // stripe | crm | support | app | email
  externalId: string;
}

export interface AppendOptions {
  expectedVersion: ExpectedVersion;
  // De-duplication key for the external delivery that caused this append: a second append
  // with the same key stores nothing and returns the first append's result.
  idempotencyKey?: { source: string; sourceEventId: string };
  identities?: IdentityClaim[];
  // The external delivery as received, kept in the inbox in the append's own transaction (one
  // commit for both) when the append is made or answered as a duplicate; a refused append keeps
  // nothing. Its outcome is the append's: `appended` or `duplicate`.
  inbox?: InboxRecord;
}

export interface InboxRecord {
  source: string;
  verified: boolean;
  headers: Record<string, string>;
  body: string;
  detail?: Record<string, unknown>;
  correlationId: string;
  sourceEventIds: string[];
}

export interface AppendResult {
  streamId: string;
  // Version of the stream after the append (the last event's version).
  nextVersion: number;
  positions: bigint[];
  eventIds: string[];
  // true when the idempotency key had been seen: nothing new was stored.
  duplicate: boolean;
  // The inbox row kept with it (AppendOptions.inbox).
  inboxId?: string;
}

export interface ReadStreamOptions {
  fromVersion?: number;
  toVersion?: number;
}

export interface ReadAllOptions {
  after: bigint;
  limit: number;
}

// What a command needs before it decides, in one round trip (the ingest hot path).
export interface CommandContextQuery {
  idempotencyKey?: { source: string; sourceEventId: string };
  // Strongest first.
  claims: IdentityClaim[];
  // The stream to load: this owner's, else the owner of the first claim that has one.
  ownerId?: string;
  // Stream id = prefix + owner id.
  streamIdPrefix: string;
  // A customer whose stream the caller has already folded up to `version`: when it is the one
  // loaded, only the events after that version are read.
  known?: { customerId: string; version: number };
}

export interface CommandContext {
  // The delivery's original result when it was already appended (then nothing else is read).
  seen?: AppendResult;
  // The owner of each claim that has one, keyed `kind:externalId`.
  owners: Map<string, string>;
  // The loaded owner's stream after `afterVersion`, in version order: the whole stream
  // (afterVersion 0, empty when it has none yet), or the tail after the query's `known` version.
  stream?: { ownerId: string; afterVersion: number; events: RecordedEvent[] };
}

export interface EventStore {
  append(streamId: string, events: NewEvent[], options: AppendOptions): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  // Events with a global position greater than `after`, in position order, never skipping one
  // that a slower transaction commits later (see DESIGN.md, gap safety).
  readAll(options: ReadAllOptions): Promise<RecordedEvent[]>;
  streamVersion(streamId: string): Promise<number | undefined>;
  // The original result of an external delivery, if it was already appended.
  findDelivery(key: { source: string; sourceEventId: string }): Promise<AppendResult | undefined>;
  // The metadata recorded with that delivery (its first event's), if it is recorded: what it was
  // (sourceType, requestHash) tells a re-delivery from an id reused for something else.
  recordedMetadata(key: { source: string; sourceEventId: string }): Promise<EventMetadata | undefined>;
  resolveIdentity(kind: string, externalId: string): Promise<string | undefined>;
  // The owner of each claim that has one, keyed `kind:externalId`.
  resolveIdentities(claims: IdentityClaim[]): Promise<Map<string, string>>;
  identitiesOf(customerId: string): Promise<IdentityClaim[]>;
  loadCommandContext(query: CommandContextQuery): Promise<CommandContext>;
  headPosition(): Promise<bigint>;
  // In-process wake-up after a committed append (projectors here need not poll for it).
  onAppended(listener: (result: AppendResult) => void): () => void;
  close(): Promise<void>;
}
