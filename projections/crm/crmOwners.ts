import { lookupByPlan, type Plan, type PlanTable } from '../customerView.ts';

// Owner assignment: round-robin within the pool of the customer's plan (LEDGER_CRM_OWNERS,
// keyed by price id or nickname), else within the `default` pool; no pool means unassigned.
// An owner once given is never taken away by a later event, so nobody has to clean up.

export type OwnerPools = PlanTable<readonly string[]>;

// One counter per pool, shared across customers (the read model's `shared` document).
export interface OwnerRotation {
  nextIndexByPool: Record<string, number>;
}

export const initialOwnerRotation: OwnerRotation = { nextIndexByPool: {} };

export function assignOwner(
  current: string | null,
  plan: Plan | null,
  pools: OwnerPools,
  rotation: OwnerRotation,
): { owner: string | null; rotation: OwnerRotation } {
  if (current !== null) return { owner: current, rotation };
  const pool = lookupByPlan(pools, plan);
  if (pool === null || pool.value.length === 0) return { owner: null, rotation };
  const index = Object.hasOwn(rotation.nextIndexByPool, pool.key) ? (rotation.nextIndexByPool[pool.key] ?? 0) : 0;
  const owner = pool.value[index % pool.value.length] ?? null;
  return {
    owner,
    rotation: { nextIndexByPool: { ...rotation.nextIndexByPool, [pool.key]: (index + 1) % pool.value.length } },
  };
}
