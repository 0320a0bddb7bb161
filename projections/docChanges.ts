import type { ProjectedEvent } from './projection.ts';

// How every read model decides that it changed. A document that did not change is returned as
// the same reference, so the runtime writes nothing and `version` (the app's ETag, the change
// feed) moves only when something a consumer sees moved.

export interface DocMeta {
  // +1 per change, from 1: never down, never twice for one event.
  version: number;
  // The correlation id of the event that last changed the document (payment → CRM → support).
  lastCorrelationId: string;
  // The global position of that event, as a decimal string.
  updatedAtPosition: string;
}

// The runtime never feeds an event twice, but a document that already shows an event must not
// count it again if one is re-fed (a retried batch, a replay over a live table).
export function alreadyApplied(doc: DocMeta | undefined, input: ProjectedEvent): boolean {
  return doc !== undefined && BigInt(input.position) <= BigInt(doc.updatedAtPosition);
}

export function nextMeta(doc: DocMeta | undefined, input: ProjectedEvent): DocMeta {
  return { version: (doc?.version ?? 0) + 1, lastCorrelationId: input.correlationId, updatedAtPosition: input.position };
}

// Structural equality of JSON values, blind to key order: a document loaded from jsonb comes
// back with its keys reordered, and must still compare equal to the one that was written.
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  const left = definedEntries(a);
  const right = definedEntries(b);
  if (left.length !== right.length) return false;
  const rightByKey = new Map(right);
  return left.every(([key, value]) => rightByKey.has(key) && jsonEqual(value, rightByKey.get(key)));
}

// `undefined` does not survive JSON, so a key holding it equals a missing key.
const definedEntries = (value: object): [string, unknown][] => Object.entries(value).filter(([, v]) => v !== undefined);

// Code-unit order: the same on every machine, unlike localeCompare.
export const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
