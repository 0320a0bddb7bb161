import { lookupByPlan, type Plan, type PlanTable } from '../customerView.ts';

// Owner assignment within the pool of the customer's plan (LEDGER_CRM_OWNERS, keyed by price id
// or nickname), else within the `default` pool; no pool means unassigned. An owner once given is
// never taken away by a later event, so nobody has to clean up.
//
// LEDGER_CRM_OWNER_ASSIGNMENT:
// - `round-robin` (default): strictly even, in the order customers reach the projector. One
//   projector applies the log in order, so a rebuild gives every customer the same owner again.
//   In Kafka mode partitions commit in no fixed order across processes: live owners follow that
//   order, and a rebuild (log order) can hand customers to other owners.
// - `hash`: rendezvous hashing of the customer id over the pool: the same owner whatever the
//   order (so Kafka mode and rebuilds agree), even only on average; adding an owner to a pool
//   moves, on a rebuild, only the customers the newcomer wins (about 1 in n+1).

export type OwnerPools = PlanTable<readonly string[]>;
export type OwnerAssignment = 'round-robin' | 'hash';

// One counter per pool, shared across customers (the read model's `shared` document).
export interface OwnerRotation {
  nextIndexByPool: Record<string, number>;
}

export const initialOwnerRotation: OwnerRotation = { nextIndexByPool: {} };

export function assignOwner(
  current: string | null,
  customer: { customerId: string; plan: Plan | null },
  pools: OwnerPools,
  rotation: OwnerRotation,
  assignment: OwnerAssignment = 'round-robin',
): { owner: string | null; rotation: OwnerRotation } {
  if (current !== null) return { owner: current, rotation };
  const pool = lookupByPlan(pools, customer.plan);
  if (pool === null || pool.value.length === 0) return { owner: null, rotation };
  if (assignment === 'hash') return { owner: highestScoring(customer.customerId, pool.value), rotation };
  const index = Object.hasOwn(rotation.nextIndexByPool, pool.key) ? (rotation.nextIndexByPool[pool.key] ?? 0) : 0;
  const owner = pool.value[index % pool.value.length] ?? null;
  return {
    owner,
    rotation: { nextIndexByPool: { ...rotation.nextIndexByPool, [pool.key]: (index + 1) % pool.value.length } },
  };
}

// Rendezvous (highest random weight) hashing: each owner scores the customer; the best wins.
function highestScoring(customerId: string, owners: readonly string[]): string | null {
  let best: string | null = null;
  let bestScore = -1;
  for (const owner of owners) {
    const score = fnv1a(`${customerId}\u0000${owner}`);
    if (score > bestScore || (score === bestScore && best !== null && owner < best)) {
      best = owner;
      bestScore = score;
    }
  }
  return best;
}

// 32-bit FNV-1a over UTF-16 code units, finished with a murmur3-style mix so that ids differing
// only in their last characters still spread over the whole range.
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
