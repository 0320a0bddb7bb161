import { randomUUID } from 'node:crypto';
import type { LedgerDatabase } from '../eventstore/database.ts';
import { onePer } from '../onePer.ts';

export const NOTIFY_CHANNEL = 'ledger_events';

// One token per open database (not per process: tests open two pools in one process, and a
// projector on one must still hear the other's appends).
const tokenOfStore = onePer((_store: object) => randomUUID());
const tokenOf = (db: LedgerDatabase): string => tokenOfStore(db.store);

// Calls `wake` on every append: this database's own (the store's onAppended, at once) and, on
// PostgreSQL, other processes' (their NOTIFY). Our own NOTIFYs come back too, a few ms after the
// append already woke us; they carry our token and are ignored. Heeding them ran a second batch
// per read model after each busy moment, mostly empty: pointless work, though an A/B at 500 and
// 1,000 deliveries/s could not tell the two apart from run-to-run noise.
export async function onEveryAppend(db: LedgerDatabase, wake: () => void): Promise<() => void> {
  const offs: (() => void)[] = [db.store.onAppended(() => wake())];
  if (db.sql.kind === 'postgres') {
    const own = tokenOf(db);
    const unlisten = await db.sql.listen(NOTIFY_CHANNEL, (payload) => {
      if (payload !== own) wake();
    });
    offs.push(() => void unlisten());
  }
  return () => {
    for (const off of offs.splice(0)) off();
  };
}

// Lets projector processes elsewhere wake on this process's appends. Coalesced: a burst of
// appends costs one NOTIFY per interval, not one per append.
export function notifyOtherProcesses(db: LedgerDatabase, intervalMs = 5): () => void {
  if (db.sql.kind !== 'postgres') return () => {};
  const own = tokenOf(db);
  let pending: NodeJS.Timeout | undefined;
  const off = db.store.onAppended(() => {
    pending ??= setTimeout(() => {
      pending = undefined;
      db.sql.query('select pg_notify($1, $2)', [NOTIFY_CHANNEL, own]).catch(() => {});
    }, intervalMs);
  });
  return () => {
    off();
    clearTimeout(pending);
  };
}
