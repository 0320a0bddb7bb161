import { randomUUID } from 'node:crypto';

// W3C trace context: version 00, a non-zero 16-byte trace id, a non-zero 8-byte parent id.
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export interface TraceContext {
  traceId: string;
  parentId: string;
  flags: string;
}

export function parseTraceparent(header: unknown): TraceContext | undefined {
  if (typeof header !== 'string') return undefined;
  const match = TRACEPARENT.exec(header.trim());
  if (!match) return undefined;
  const [, traceId, parentId, flags] = match as unknown as [string, string, string, string];
  if (/^0+$/.test(traceId) || /^0+$/.test(parentId)) return undefined;
  return { traceId, parentId, flags };
}

export const formatTraceparent = (t: TraceContext): string => `00-${t.traceId}-${t.parentId}-${t.flags}`;

// A malformed inbound header is replaced, never trusted.
export function traceparentFor(header: unknown): string {
  return formatTraceparent(
    parseTraceparent(header) ?? { traceId: randomHex(32), parentId: randomHex(16), flags: '01' },
  );
}

// From randomUUID's pooled randomness (randomBytes asks the generator on every call, ~20× the
// cost): its 30 fully random hex digits (not the version digit, not the variant digit).
function randomHex(digits: number): string {
  let hex = '';
  while (hex.length < digits) {
    const uuid = randomUUID();
    hex += uuid.slice(0, 8) + uuid.slice(9, 13) + uuid.slice(15, 18) + uuid.slice(20, 23) + uuid.slice(24);
  }
  return hex.slice(0, digits);
}
