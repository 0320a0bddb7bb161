import type { EventStore, IdentityClaim } from '../eventstore/port.ts';
import { onePer } from '../onePer.ts';

// What unmatched deliveries wait for: the claims (`stripe_charge:ch_…`, `stripe:cus_…`) none of
// which named a customer when they arrived. The delivery that brings such a claim (the invoice a
// refund refunds) wakes them at once, instead of leaving the refund to its next backoff step
// (services/operations/unmatchedRetry.ts), which hours after receipt is hours away. This process
// learns of waiting deliveries as it keeps them and, for other processes', as they announce them
// (PostgreSQL NOTIFY) and at each retry pass; with nobody listening (retrying off) it keeps nothing.

export const claimKey = (claim: IdentityClaim): string => `${claim.kind}:${claim.externalId}`;

// What an engineer is shown of them (`ledger trace`, `ledger unmatched`): ids, never an e-mail
// address (a payload's personal data).
export const shownClaims = (keys: readonly string[]): string[] => keys.filter((key) => !key.startsWith('email:'));

export type Wake = (keys: string[]) => void;

// Tells other processes on the same store what a delivery kept here waits for, so that the one
// its customer reaches can wake it (PostgreSQL NOTIFY; services/operations/unmatchedRetry.ts).
export type Broadcast = (keys: string[]) => void;

export class WaitingClaims {
  // Each key with the moment (a counter) this process learned of it.
  private readonly keys = new Map<string, number>();
  private learned = 0;
  private wake: Wake | null = null;
  private broadcast: Broadcast | null = null;

  listen(wake: Wake, broadcast?: Broadcast): () => void {
    this.wake = wake;
    this.broadcast = broadcast ?? null;
    return () => {
      if (this.wake === wake) {
        this.wake = null;
        this.broadcast = null;
      }
      this.keys.clear();
    };
  }

  // A delivery just kept unmatched. It is woken once at once as well: its customer may have
  // arrived while it was being kept (a refund and its invoice delivered side by side), and that
  // arrival found nothing waiting yet.
  waiting(keys: string[]): void {
    if (this.wake === null || keys.length === 0) return;
    for (const key of keys) this.keys.set(key, ++this.learned);
    this.broadcast?.(keys);
    this.wake(keys);
  }

  // Another process keeps a delivery that waits for these: an append here may match it.
  heard(keys: string[]): void {
    if (this.wake === null) return;
    for (const key of keys) this.keys.set(key, ++this.learned);
  }

  // Facts with these claims were appended: a delivery waiting for one of them may find its
  // customer now. A Set lookup per claim while anything waits; nothing otherwise.
  arrived(claims: readonly IdentityClaim[]): void {
    if (this.wake === null || this.keys.size === 0) return;
    const hit = claims.map(claimKey).filter((key) => this.keys.has(key));
    if (hit.length > 0) this.wake(hit);
  }

  // Taken before a pass reads the inbox, and given back to `refresh`.
  mark(): number {
    return this.learned;
  }

  // What the inbox says waits now (every process's deliveries, matched ones gone), keeping what
  // this process learned while the read was under way.
  refresh(keys: Iterable<string>, mark: number): void {
    if (this.wake === null) return;
    for (const [key, learned] of this.keys) if (learned <= mark) this.keys.delete(key);
    for (const key of keys) if (!this.keys.has(key)) this.keys.set(key, mark);
  }

  // No delivery waits for these any more (they matched), unless this process kept one after `mark`.
  forget(keys: string[], mark: number): void {
    for (const key of keys) if ((this.keys.get(key) ?? Infinity) <= mark) this.keys.delete(key);
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  get size(): number {
    return this.keys.size;
  }
}

// One per event store, shared by the ingest routes that keep and append deliveries and the
// retry that wakes them.
export const waitingClaimsOf = onePer((_store: EventStore) => new WaitingClaims());
