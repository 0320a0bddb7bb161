import { LedgerError } from '../domain/errors.ts';
import { LeadCapturedDataV1 } from './events/customerFacts.ts';
import { PaymentSucceededDataV1 } from './events/billingFacts.ts';
import { SCHEMA_VERSIONS, type DomainEventType } from './events/vocabulary.ts';

// Stored events are immutable, so a schema change never rewrites history: each step turns data
// written at `fromVersion` into `fromVersion + 1`, and steps chain at read time.

export interface UpcastStep {
  type: DomainEventType;
  fromVersion: number;
  upcast: (data: unknown) => unknown;
}

export interface Upcasters {
  upcast(type: DomainEventType, fromVersion: number, data: unknown): unknown;
}

// Checks the chain is complete for every type now rather than on the first old event read in
// production, which might be months later.
export function defineUpcasters(
  steps: readonly UpcastStep[],
  currentVersions: Readonly<Record<string, number>> = SCHEMA_VERSIONS,
): Upcasters {
  const byKey = new Map<string, UpcastStep['upcast']>();
  for (const step of steps) {
    const key = `${step.type}@${step.fromVersion}`;
    if (byKey.has(key)) throw new Error(`Two upcasters registered for ${key}`);
    byKey.set(key, step.upcast);
  }
  for (const [type, current] of Object.entries(currentVersions)) {
    for (let version = 1; version < current; version += 1) {
      if (!byKey.has(`${type}@${version}`)) throw new Error(`Missing upcaster for ${type} v${version} -> v${version + 1}`);
    }
  }

  return {
    upcast(type, fromVersion, data) {
      const current = currentVersions[type];
      if (current === undefined || !Number.isInteger(fromVersion) || fromVersion < 1 || fromVersion > current) {
        // A version above ours was written by newer code: reading it with today's rules would
        // silently drop what we don't know about.
        throw new LedgerError('LEDGER_EVENT_SCHEMA', `No schema for ${type} v${fromVersion}`, { type, schemaVersion: fromVersion });
      }
      let upcasted = data;
      for (let version = fromVersion; version < current; version += 1) {
        const step = byKey.get(`${type}@${version}`);
        if (step === undefined) throw new Error(`Missing upcaster for ${type} v${version}`);
        upcasted = step(upcasted);
      }
      return upcasted;
    },
  };
}

// Stripe's zero- and three-decimal currencies: minor units are not always cents.
const ZERO_DECIMAL = new Set(['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf']);
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);
export function toMinorUnits(amount: number, currency: string): number {
  const digits = ZERO_DECIMAL.has(currency) ? 0 : THREE_DECIMAL.has(currency) ? 3 : 2;
  return Math.round(amount * 10 ** digits);
}

export function splitFullName(name: string | undefined): { firstName?: string; lastName?: string } {
  const parts = (name ?? '').trim().split(/\s+/).filter((part) => part.length > 0);
  const [firstName, ...rest] = parts;
  if (firstName === undefined) return {};
  return rest.length === 0 ? { firstName } : { firstName, lastName: rest.join(' ') };
}

export const upcasters = defineUpcasters([
  {
    type: 'LeadCaptured',
    fromVersion: 1,
    upcast: (data) => {
      const { name, ...rest } = LeadCapturedDataV1.parse(data);
      return { ...rest, ...splitFullName(name) };
    },
  },
  {
    type: 'PaymentSucceeded',
    fromVersion: 1,
    upcast: (data) => {
      const { amount, ...rest } = PaymentSucceededDataV1.parse(data);
      return { ...rest, amountCents: toMinorUnits(amount, rest.currency) };
    },
  },
]);
