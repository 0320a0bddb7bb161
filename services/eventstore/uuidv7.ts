import { randomUUID } from 'node:crypto';

// RFC 9562 UUIDv7: 48-bit unix milliseconds, then random bits. Time-ordered ids keep the
// event_id index append-mostly. The random bits come from randomUUID, which draws from a pooled
// buffer (~0.1 µs) where randomBytes(16) asks the generator on every call (~2 µs); its variant
// bits are the ones v7 needs, and its version nibble is replaced.
export function uuidv7(now: number = Date.now()): string {
  const random = randomUUID();
  const ms = now.toString(16).padStart(12, '0');
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7${random.slice(15, 18)}-${random.slice(19)}`;
}
