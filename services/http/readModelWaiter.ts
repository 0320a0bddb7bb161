import type { ReadModelName } from '../../projections/projection.ts';
import type { Projector } from '../projector/projector.ts';

// Resolves when `predicate` holds or the time is up. Woken by this process's projector commits
// for the read model; a slow poll covers projectors running in other processes.
export async function waitUntil(
  projector: Projector | undefined,
  model: ReadModelName,
  predicate: () => Promise<boolean>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  if (await predicate()) return true;
  if (timeoutMs <= 0) return false;
  const deadline = Date.now() + timeoutMs;
  return new Promise<boolean>((resolve) => {
    let checking = false;
    // A commit that lands while a check is running may be one that check could not see yet
    // (read before it committed): check once more when it returns rather than drop the wake-up.
    let again = false;
    let settled = false;
    const finish = (value: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
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
        do {
          again = false;
          if (await predicate()) finish(true);
        } while (again && !settled);
      } catch {
        // A failed check is retried on the next wake-up or poll; the deadline still holds.
      } finally {
        checking = false;
      }
    };
    const onAbort = () => finish(false);
    const unsubscribe = projector?.onCommitted((name) => {
      if (name === model) void check();
    });
    const timer = setTimeout(() => finish(false), Math.max(0, deadline - Date.now()));
    const poll = setInterval(() => void check(), projector ? 1_000 : 250);
    signal?.addEventListener('abort', onAbort);
  });
}
