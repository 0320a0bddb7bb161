import pg from 'pg';
import { statementNames, type SqlClient, type SqlExecutor, type QueryResult } from './sqlClient.ts';

export interface PgClientOptions {
  connectionString: string;
  schema?: string;
  poolSize?: number;
  queryTimeoutMs?: number;
}

// The statement timeout (DATABASE_QUERY_TIMEOUT_MS) is kept twice. PostgreSQL's own
// `statement_timeout` cancels a statement that runs or waits (on a lock, say) too long: the
// connection stays healthy, and no abandoned statement keeps a backend busy while retries open
// more. The client's `query_timeout`, a little later, covers the server that cannot answer at all
// (a partition, a host gone without a reset): node-postgres rejects the statement with this
// message while its connection still waits for the answer, so that connection must be dropped,
// never pooled again.
export const isQueryTimeout = (error: unknown): boolean => error instanceof Error && error.message === 'Query read timeout';
const clientTimeoutOf = (statementTimeoutMs: number) => statementTimeoutMs + Math.min(5_000, statementTimeoutMs);

// Migrations and other schema changes (`exec`) may rightly take long on a large store: neither
// timeout applies to them (the client's is set as long as a timer can be, node's limit).
const NO_TIMEOUT_MS = 2_147_483_647;
const untimed = (text: string) => ({ text, query_timeout: NO_TIMEOUT_MS }) as pg.QueryConfig; // query_timeout: read by node-postgres, missing from its type

// `statementTimeout`: the SET that gives a pooled connection its timeout back after a schema change.
function executor(target: pg.Pool | pg.PoolClient, statementTimeout?: string): SqlExecutor {
  return {
    async query<Row>(text: string, params?: unknown[]): Promise<QueryResult<Row>> {
      // Named statements are parsed and planned once per connection, not on every call.
      const name = statementNames.get(text);
      const result = await (name ? target.query({ name, text, values: params as unknown[] }) : target.query(text, params as unknown[]));
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    },
    async exec(sql: string): Promise<void> {
      if (target instanceof pg.Pool) return untimedOnOwnConnection(target, sql, statementTimeout ?? 'reset statement_timeout');
      // In a transaction (migrations, a rebuild's swap): lifted until it ends.
      await target.query('set local statement_timeout = 0');
      await target.query(untimed(sql));
    },
  };
}

async function untimedOnOwnConnection(pool: pg.Pool, sql: string, statementTimeout: string): Promise<void> {
  const client = await pool.connect();
  let failed: Error | undefined;
  try {
    await client.query('set statement_timeout = 0');
    await client.query(untimed(sql));
    await client.query(statementTimeout);
  } catch (error) {
    failed = error as Error;
    throw error;
  } finally {
    // A failure may leave the setting lifted: that connection is not pooled again.
    client.release(failed);
  }
}

export function createPgClient(options: PgClientOptions): SqlClient {
  // The server's half, set on each connection as it opens rather than sent as a startup
  // parameter, which PgBouncer refuses unless told to ignore it. pg-pool awaits it before the
  // connection serves anything (a statement queued behind another on one connection is
  // deprecated, and refused from pg 9); a connection it fails on is closed, never used untimed.
  const statementTimeout = options.queryTimeoutMs ? `set statement_timeout = ${Math.floor(options.queryTimeoutMs)}` : undefined;
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolSize ?? 20,
    // A search_path per pool lets tests (and tenants) isolate themselves in a schema.
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    connectionTimeoutMillis: 5_000,
    // A statement past it fails (503 to a provider, who retries; see isQueryTimeout). One the
    // server still completes after the client gave up is harmless: a retried delivery finds it
    // and is a duplicate.
    ...(options.queryTimeoutMs ? { query_timeout: clientTimeoutOf(options.queryTimeoutMs) } : {}),
    // An idle connection whose server vanished without a reset is found dead by TCP keepalive
    // instead of on its next statement.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(statementTimeout ? { onConnect: (client: pg.ClientBase) => client.query(statementTimeout) } : {}),
  });
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', () => {});
  const base = executor(pool, statementTimeout);

  return {
    kind: 'postgres',
    query: base.query,
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      // A connection lost mid-transaction (a restart, a terminated backend) fails the statement
      // in flight, and so the transaction; the client's own 'error' event, unheard, would end
      // the process. The broken client is dropped, not pooled again.
      let lost: Error | undefined;
      const onError = (error: Error) => {
        lost = error;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn(executor(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        // A timed-out statement's connection is still waiting for its answer: a ROLLBACK would
        // queue behind it. The connection is dropped instead, and the server rolls the
        // transaction back when it sees the session end (COMMIT was never sent).
        if (!lost && isQueryTimeout(error)) lost = error as Error;
        if (!lost) await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.off('error', onError);
        // A later error on the dropped client has nobody to tell either.
        if (lost) client.on('error', () => {});
        client.release(lost);
      }
    },
    exec: base.exec,
    // A dedicated connection that LISTENs. Lost (a restart, a failover, a terminated backend),
    // it must not end the process: it is dropped and LISTEN taken again on a fresh one, with
    // backoff. What was notified meanwhile is missed, so the listener hears one empty payload
    // once it is back, to catch up (a projector runs a batch; others ignore it).
    async listen(channel: string, onNotify: (payload: string) => void) {
      const handler = (message: pg.Notification) => {
        if (message.channel === channel) onNotify(message.payload ?? '');
      };
      let current: { client: pg.PoolClient; close(): Promise<void> } | undefined;
      let stopped = false;
      let retry: NodeJS.Timeout | undefined;
      const connect = async () => {
        const client = await pool.connect();
        let done = false;
        // Back to the pool, or dropped with the error that broke it (a later error on a dropped
        // client has nobody to tell).
        const finish = (error?: Error): boolean => {
          if (done) return false;
          done = true;
          client.off('notification', handler);
          client.off('error', onError);
          if (error) client.on('error', () => {});
          client.release(error);
          return true;
        };
        const onError = (error: Error) => {
          const wasCurrent = current?.client === client;
          if (finish(error) && wasCurrent) {
            current = undefined;
            reconnect(1);
          }
        };
        client.on('notification', handler);
        client.on('error', onError);
        try {
          await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
        } catch (error) {
          finish(error instanceof Error ? error : new Error(String(error)));
          throw error;
        }
        const listening = {
          client,
          close: async () => {
            await client.query(`UNLISTEN ${pg.escapeIdentifier(channel)}`).catch(() => {});
            finish();
          },
        };
        if (stopped) {
          await listening.close();
          return undefined;
        }
        current = listening;
        return listening;
      };
      const reconnect = (attempt: number) => {
        if (stopped) return;
        retry = setTimeout(
          () =>
            void connect().then(
              (listening) => listening && onNotify(''),
              () => reconnect(attempt + 1),
            ),
          Math.min(30_000, 100 * 2 ** attempt),
        );
        retry.unref();
      };
      await connect();
      return async () => {
        stopped = true;
        clearTimeout(retry);
        const listening = current;
        current = undefined;
        await listening?.close();
      };
    },
    async close(): Promise<void> {
      await pool.end();
    },
  };
}
