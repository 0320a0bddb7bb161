import { PGlite } from '@electric-sql/pglite';
import type { SqlClient, SqlExecutor, QueryResult } from './sqlClient.ts';

// PGlite is a single connection: it serialises queries itself, so one instance serves the process.
export async function createPgliteClient(dataDir: string | undefined): Promise<SqlClient> {
  const db = dataDir && dataDir !== 'memory://' ? await PGlite.create(dataDir) : await PGlite.create();

  const query = async <Row>(text: string, params?: unknown[]): Promise<QueryResult<Row>> => {
    const result = await db.query<Row>(text, params);
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
  };

  return {
    kind: 'pglite',
    query,
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const result = await db.transaction(async (tx) =>
        fn({
          async query<Row>(text: string, params?: unknown[]) {
            const r = await tx.query<Row>(text, params);
            return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
          },
          async exec(sql: string) {
            await tx.exec(sql);
          },
        }),
      );
      // pglite #1065: transaction() can resolve before the commit reaches the files; a
      // top-level query is synced before it resolves, so one after the commit fences it.
      await db.query('select 1');
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
      await db.close();
    },
  };
}
