import { DECISION_TYPES } from '../../contracts/domainEvents.ts';
import { customerIdOfStream } from '../commands/customerIds.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { TranslatedFact, Translation } from '../ingest/webhookSource.ts';

// The redelivery rule. A live delivery is de-duplicated on (source, sourceEventId) alone, and the
// translators key an event's first fact by the event's own id (Stripe `evt_…`, HubSpot's tuple,
// Zendesk's id) and its other facts by `<event key>:<suffix>`. After a mapper fix that is not
// enough: a translator that now puts a different fact first would see it dropped as a duplicate
// of the old first fact, and the old fact, now keyed `<event key>:<Type>`, appended twice.
//
// So a redelivery compares fact TYPES per source event, not keys:
// - a fact whose type the event already produced (under any of its keys) is a duplicate;
// - a fact of a new type takes today's translator key when that key is unused (exactly the key a
//   live delivery would use, so a later provider retry de-duplicates against it), else
//   `<event key>:<FactType>`;
// - the appended fact is then recorded under that key, so a second redelivery finds its type and
//   appends nothing.
// Facts are never corrected in place: a fact the fixed mapper would now state differently (same
// type, other data) stays as first recorded; an admin override is the way to correct its effect.

export type RedeliveryStep =
  | { kind: 'recorded'; item: TranslatedFact; key: string; customerId: string }
  | { kind: 'new'; item: TranslatedFact; key: string };

const isDecision = (type: string): boolean => (DECISION_TYPES as readonly string[]).includes(type);

// The source event a key belongs to: the shortest key of the same delivery that is the key itself
// or prefixes it before a ':' (`evt_1:PaymentSucceeded` belongs to `evt_1`).
export function eventKeyOf(key: string, keys: readonly string[]): string {
  let eventKey = key;
  for (const candidate of keys) {
    if (candidate.length < eventKey.length && key.startsWith(`${candidate}:`)) eventKey = candidate;
  }
  return eventKey;
}

interface RecordedFact {
  key: string;
  customerId: string;
}

// The fact types already recorded for one source event, as a multiset (type -> where).
async function recordedFacts(store: EventStore, source: string, eventKey: string, items: TranslatedFact[]): Promise<Map<string, RecordedFact[]>> {
  const probes = new Set([eventKey, ...items.map((i) => i.sourceEventId), ...items.map((i) => `${eventKey}:${i.fact.type}`)]);
  const recorded = new Map<string, RecordedFact[]>();
  for (const key of probes) {
    const delivery = await store.findDelivery({ source, sourceEventId: key });
    if (!delivery) continue;
    const fromVersion = delivery.nextVersion - delivery.eventIds.length + 1;
    const events = await store.readStream(delivery.streamId, { fromVersion, toVersion: delivery.nextVersion });
    // An append is [identity links…, the fact, its decision?]: the fact is its last non-decision.
    const fact = events.filter((e) => delivery.eventIds.includes(e.eventId) && !isDecision(e.type)).at(-1);
    if (!fact) continue;
    recorded.set(fact.type, [...(recorded.get(fact.type) ?? []), { key, customerId: customerIdOfStream(delivery.streamId) }]);
  }
  return recorded;
}

// One step per translated fact, in the translation's order.
export async function planRedelivery(store: EventStore, source: string, translation: Translation): Promise<RedeliveryStep[]> {
  const keys = [...translation.facts.map((f) => f.sourceEventId), ...translation.ignored.map((i) => i.sourceEventId)];
  const byEvent = new Map<string, TranslatedFact[]>();
  for (const item of translation.facts) {
    const eventKey = eventKeyOf(item.sourceEventId, keys);
    byEvent.set(eventKey, [...(byEvent.get(eventKey) ?? []), item]);
  }
  const recordedByEvent = new Map<string, Map<string, RecordedFact[]>>();
  for (const [eventKey, items] of byEvent) recordedByEvent.set(eventKey, await recordedFacts(store, source, eventKey, items));

  const steps: RedeliveryStep[] = [];
  for (const item of translation.facts) {
    const eventKey = eventKeyOf(item.sourceEventId, keys);
    const earlier = recordedByEvent.get(eventKey)?.get(item.fact.type)?.shift();
    if (earlier) {
      steps.push({ kind: 'recorded', item, ...earlier });
      continue;
    }
    const taken = (await store.findDelivery({ source, sourceEventId: item.sourceEventId })) !== undefined;
    steps.push({ kind: 'new', item, key: taken ? `${eventKey}:${item.fact.type}` : item.sourceEventId });
  }
  return steps;
}
