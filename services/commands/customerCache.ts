import type { CustomerState } from '../../domain/customerState.ts';
import type { EventStore, IdentityClaim } from '../eventstore/port.ts';
import { onePer } from '../onePer.ts';

export interface FoldedCustomer {
  state: CustomerState;
  version: number;
}

// Customers this process has folded, by id, so that a delivery reads only the events appended
// since (usually the one its predecessor wrote) instead of the customer's whole history: without
// it every delivery re-read and re-folded the stream, a cost that grew with each customer's age.
// It holds only folds of events read back from the store, never what a command hoped to append,
// and streams are immutable, so an entry is exact for its version whatever other processes write
// after it; the store reads the rest. Bounded, least recently used out first.
export class CustomerCache {
  private readonly customers = new Map<string, FoldedCustomer>();
  // Which customer a claim belonged to when last seen: a hint naming the entry to offer the
  // store. A stale hint only means the whole stream is read, as without the cache.
  private readonly owners = new Map<string, string>();

  constructor(private readonly maxCustomers = 10_000) {}

  get(customerId: string): FoldedCustomer | undefined {
    const entry = this.customers.get(customerId);
    if (entry) touch(this.customers, customerId, entry);
    return entry;
  }

  remember(customerId: string, entry: FoldedCustomer): void {
    const current = this.customers.get(customerId);
    if (current && current.version > entry.version) return;
    touch(this.customers, customerId, entry);
    evictOldest(this.customers, this.maxCustomers);
  }

  // The customer the strongest hinted claim belonged to.
  ownerHint(claims: IdentityClaim[]): string | undefined {
    for (const claim of claims) {
      const owner = this.owners.get(keyOf(claim));
      if (owner !== undefined) return owner;
    }
    return undefined;
  }

  rememberOwner(claim: IdentityClaim, customerId: string): void {
    touch(this.owners, keyOf(claim), customerId);
    evictOldest(this.owners, this.maxCustomers * 4);
  }
}

const keyOf = (claim: IdentityClaim) => `${claim.kind}:${claim.externalId}`;

// Map keeps insertion order: re-inserting moves a key to the young end.
function touch<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
}

function evictOldest<V>(map: Map<string, V>, max: number): void {
  while (map.size > max) map.delete(map.keys().next().value!);
}

// One cache per store: every command on a store shares it, and a store closed and reopened
// (a test's fresh database) starts empty.
export const customerCacheOf = onePer((_store: EventStore) => new CustomerCache());
