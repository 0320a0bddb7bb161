import pg from 'pg';
import { statementNames, type SqlClient, type SqlExecutor, type QueryResult } from './sqlClient.ts';

export interface PgClientOptions {
  connectionString: string;
  schema?: string;
  poolSize?: number;
}

function executor(target: pg.Pool | pg.PoolClient): SqlExecutor {
  return {
    async query<Row>(text: string, params?: unknown[]): Promise<QueryResult<Row>> {
      // Named statements are parsed and planned once per connection, not on every call.
      const name = statementNames.get(text);
      const result = await (name ? target.query({ name, text, values: params as unknown[] }) : target.query(text, params as unknown[]));
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    },
    async exec(sql: string): Promise<void> {
      await target.query(sql);
    },
  };
}

export function createPgClient(options: PgClientOptions): SqlClient {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolSize ?? 20,
    // A search_path per pool lets tests (and tenants) isolate themselves in a schema.
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    connectionTimeoutMillis: 5_000,
  });
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', () => {});
  const base = executor(pool);

  return {
    kind: 'postgres',
    query: base.query,
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(executor(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    exec: base.exec,
    async listen(channel: string, onNotify: (payload: string) => void) {
      const client = await pool.connect();
      const handler = (message: pg.Notification) => {
        if (message.channel === channel) onNotify(message.payload ?? '');
      };
      client.on('notification', handler);
      await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      return async () => {
        client.off('notification', handler);
        await client.query(`UNLISTEN ${pg.escapeIdentifier(channel)}`).catch(() => {});
        client.release();
      };
    },
    async close(): Promise<void> {
      await pool.end();
    },
  };
}
