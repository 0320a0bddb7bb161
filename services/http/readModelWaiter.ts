import type { ReadModelName } from '../../projections/projection.ts';
import type { Projector } from '../projector/projector.ts';

// What a check found: the wait is over (true), nothing yet (false), or something already
// committed that cannot be handed out yet ('soon': a change-feed entry behind the transaction
// fence, released when older transactions end, which wakes no projector commit).
export type WaitCheck = boolean | 'soon';

// How soon a 'soon' is checked again: transactions ahead of the fence are usually short
// (appends, projector batches), so a few milliseconds, not the next commit or the 1 s poll;
// doubling while it lasts, so a long transaction holding the fence costs a waiter a handful of
// queries, not hundreds a second.
const SOON_FIRST_MS = 5;
const SOON_MAX_MS = 500;

// Resolves when `predicate` holds or the time is up. Woken by this process's projector commits
// for the read model; a slow poll covers projectors running in other processes.
export async function waitUntil(
  projector: Projector | undefined,
  model: ReadModelName,
  predicate: () => Promise<WaitCheck>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const first = await predicate();
  if (first === true) return true;
  if (timeoutMs <= 0) return false;
  const deadline = Date.now() + timeoutMs;
  return new Promise<boolean>((resolve) => {
    let checking = false;
    // A commit that lands while a check is running may be one that check could not see yet
    // (read before it committed): check once more when it returns rather than drop the wake-up.
    let again = false;
    let settled = false;
    let soon: ReturnType<typeof setTimeout> | undefined;
    let soonMs = SOON_FIRST_MS;
    const finish = (value: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(soon);
      clearInterval(poll);
      unsubscribe?.();
      signal?.removeEventListener('abort', onAbort);
      resolve(value);
    };
    const check = async () => {
      if (settled) return;
      if (checking) {
        again = true;
        return;
      }
      checking = true;
      try {
        let found: WaitCheck = false;
        do {
          again = false;
          found = await predicate();
          if (found === true) finish(true);
        } while (again && !settled);
        if (found === 'soon') checkSoon();
      } catch {
        // A failed check is retried on the next wake-up or poll; the deadline still holds.
      } finally {
        checking = false;
      }
    };
    const checkSoon = () => {
      if (settled || soon !== undefined) return;
      soon = setTimeout(() => {
        soon = undefined;
        void check();
      }, soonMs);
      soonMs = Math.min(SOON_MAX_MS, soonMs * 2);
    };
    const onAbort = () => finish(false);
    const unsubscribe = projector?.onCommitted((name) => {
      if (name === model) void check();
    });
    const timer = setTimeout(() => finish(false), Math.max(0, deadline - Date.now()));
    const poll = setInterval(() => void check(), projector ? 1_000 : 250);
    signal?.addEventListener('abort', onAbort);
    if (first === 'soon') checkSoon();
  });
}
