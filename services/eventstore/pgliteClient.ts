import { PGlite } from '@electric-sql/pglite';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { lockDataDir } from './dataDirLock.ts';
import { PglitePreparedStatements, queryResultOf } from './pglitePrepared.ts';
import { statementNames, type SqlClient, type SqlExecutor, type QueryResult } from './sqlClient.ts';

// PGlite is a single connection: it serialises queries itself, so one instance serves the process.
// `startFrom`: another store's files (`dumpDataDir`) to start from instead of an empty cluster:
// initdb is most of a new store's start (~3 s of CPU on a development machine, ~0.7 s from a copy).
export async function createPgliteClient(dataDir: string | undefined, startFrom?: Blob): Promise<PgliteSqlClient> {
  const options = startFrom ? { loadDataDir: startFrom } : {};
  const onDisk = dataDir !== undefined && dataDir !== 'memory://';
  // One process at a time on the files (dataDirLock.ts); taken before PGlite touches them.
  const lock = onDisk ? lockDataDir(dataDir) : undefined;
  let db: PGlite;
  try {
    db = onDisk ? await PGlite.create(dataDir, options) : await PGlite.create(options);
  } catch (error) {
    lock?.release();
    throw error;
  }

  // PGlite runs each statement synchronously in this thread and chains its callers through
  // promises: under load, statement after statement ran as microtasks and the event loop did
  // not turn for ~200 ms at a time. Node accepts one new connection per turn, so the 40th new
  // connection of a burst waited 8 s for its first answer. Each statement and each transaction
  // now waits for the next turn, letting sockets, timers and accepts in between (a transaction's
  // own statements run together: it holds the one connection anyway).
  const prepared = new PglitePreparedStatements(db);
  const query = async <Row>(text: string, params?: unknown[]): Promise<QueryResult<Row>> => {
    await nextTurn();
    const name = statementNames.get(text);
    if (name !== undefined) return prepared.topLevel<Row>(name, text, params ?? []);
    return queryResultOf<Row>(await db.query<Row>(text, params));
  };

  return {
    kind: 'pglite',
    query,
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      await nextTurn();
      const result = await db.transaction(async (tx) =>
        fn({
          async query<Row>(text: string, params?: unknown[]) {
            const name = statementNames.get(text);
            if (name !== undefined) return prepared.inTransaction<Row>(name, text, params ?? []);
            return queryResultOf<Row>(await tx.query<Row>(text, params));
          },
          async exec(sql: string) {
            await tx.exec(sql);
          },
        }),
      );
      // pglite #1065: transaction() can resolve before the commit reaches the files; a
      // top-level query is synced before it resolves, so one after the commit fences it.
      await prepared.topLevel('ledger_commit_fence', 'select 1', []);
      return result;
    },
    async exec(sql: string): Promise<void> {
      await db.exec(sql);
    },
    async listen(channel: string, onNotify: (payload: string) => void) {
      const unsubscribe = await db.listen(channel, onNotify);
      return async () => {
        await unsubscribe();
      };
    },
    async close(): Promise<void> {
      try {
        await db.close();
      } finally {
        lock?.release();
      }
    },
    // The store's files as one archive, for `startFrom`.
    dumpDataDir: () => db.dumpDataDir('none'),
  };
}

export type PgliteSqlClient = SqlClient & { dumpDataDir(): Promise<Blob> };
