import { LedgerError } from '../../domain/errors.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { SqlExecutor } from '../eventstore/sqlClient.ts';
import { forgetDelivery } from './inbox.ts';
import type { FactOutcome } from './ingestDelivery.ts';
import type { TranslatedFact } from './webhookSource.ts';

// A delivery that appended nothing because its event id is recorded for an event of another type
// is not a re-delivery. Stripe and Zendesk never reuse an id, but payloads copied from docs and
// fixtures often share one (Stripe's own fixtures all carry evt_000…): answered 200 "duplicate",
// such a test would seem to work while recording nothing. Refused instead (422, both types
// named, nothing kept). A provider's retry has the type it was recorded with and stays a
// duplicate; a delivery that appended anything stands.
export async function refuseReusedEventId(
  deps: { store: EventStore; sql: SqlExecutor },
  source: string,
  facts: TranslatedFact[],
  outcomes: FactOutcome[],
): Promise<void> {
  if (outcomes.some((o) => o.outcome === 'appended')) return;
  for (const [index, fact] of facts.entries()) {
    const outcome = outcomes[index];
    if (outcome?.outcome !== 'duplicate' || fact.sourceType === undefined) continue;
    // A delivery recorded before events kept their provider's type (metadata.sourceType) has none to compare.
    const recorded = (await deps.store.recordedMetadata({ source, sourceEventId: fact.sourceEventId }))?.sourceType;
    if (recorded === undefined || recorded === fact.sourceType) continue;
    // Kept with the duplicate's answer when it lost a race to the first delivery of the id.
    if (outcome.inboxId !== undefined) await forgetDelivery(deps.sql, outcome.inboxId);
    throw new LedgerError(
      'LEDGER_EVENT_ID_REUSED',
      `${source} event ${fact.sourceEventId} is recorded as ${recorded}; this delivery is ${fact.sourceType}. A provider never reuses an event id: give each test payload its own`,
      { sourceEventId: fact.sourceEventId, recordedAs: recorded, received: fact.sourceType },
    );
  }
}
