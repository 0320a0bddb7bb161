import type { CustomerState } from '../../domain/customerState.ts';
import type { EventStore, IdentityClaim } from '../eventstore/port.ts';
import { LruMap } from '../lruMap.ts';
import { onePer } from '../onePer.ts';

export interface FoldedCustomer {
  state: CustomerState;
  version: number;
}

// Customers this process has folded, by id, so that a delivery reads only the events appended
// since (usually the one its predecessor wrote) instead of the customer's whole history: without
// it every delivery re-read and re-folded the stream, a cost that grew with each customer's age.
// It holds folds of events read back from the store, or of an append the store accepted at the
// version it expected (the stream then holds exactly those events after the folded ones), never
// what a command merely hoped to append; streams are immutable, so an entry is exact for its
// version whatever other processes write after it; the store reads the rest. Bounded; what was
// used recently is kept (lruMap.ts).
export class CustomerCache {
  private readonly customers: LruMap<string, FoldedCustomer>;
  // Which customer a claim belonged to when last seen: a hint naming the entry to offer the
  // store. A stale hint only means the whole stream is read, as without the cache.
  private readonly owners: LruMap<string, string>;

  constructor(maxCustomers = 10_000) {
    this.customers = new LruMap(maxCustomers);
    this.owners = new LruMap(maxCustomers * 4);
  }

  get(customerId: string): FoldedCustomer | undefined {
    return this.customers.get(customerId);
  }

  remember(customerId: string, entry: FoldedCustomer): void {
    const current = this.customers.get(customerId);
    if (current && current.version > entry.version) return;
    this.customers.set(customerId, entry);
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
    this.owners.set(keyOf(claim), customerId);
  }
}

const keyOf = (claim: IdentityClaim) => `${claim.kind}:${claim.externalId}`;

// One cache per store: every command on a store shares it, and a store closed and reopened
// (a test's fresh database) starts empty.
export const customerCacheOf = onePer((_store: EventStore) => new CustomerCache());
