import type { DatabaseOptions, LedgerDatabase, Readiness } from './database.ts';
import { applyMigrations, pendingMigrations } from './migrations.ts';
import { createPgClient } from './pgClient.ts';
import { createPgliteClient } from './pgliteClient.ts';
import { PostgresEventStore } from './postgresEventStore.ts';
import type { SqlClient } from './sqlClient.ts';
import { allMigrations } from '../schema.ts';

export const DEFAULT_DATA_DIR = './.ledger';


export async function openSqlClient(options: DatabaseOptions): Promise<SqlClient> {
  if (options.databaseUrl) {
    const sql = createPgClient({
      connectionString: options.databaseUrl,
      ...(options.schema ? { schema: options.schema } : {}),
      ...(options.poolSize ? { poolSize: options.poolSize } : {}),
      ...(options.queryTimeoutMs ? { queryTimeoutMs: options.queryTimeoutMs } : {}),
    });
    if (options.schema) await sql.exec(`create schema if not exists "${options.schema.replaceAll('"', '')}"`);
    return sql;
  }
  return createPgliteClient(options.dataDir ?? DEFAULT_DATA_DIR, options.startFrom);
}

export async function openDatabase(options: DatabaseOptions & { migrate?: boolean }): Promise<LedgerDatabase> {
  const sql = await openSqlClient(options);
  if (options.migrate !== false) {
    try {
      await applyMigrations(sql, allMigrations);
    } catch (error) {
      await sql.close().catch(() => {});
      throw error;
    }
  }
  const store = new PostgresEventStore(sql);
  return {
    sql,
    store,
    async readiness(): Promise<Readiness> {
      const checks: Readiness['checks'] = [];
      try {
        await sql.query('select 1');
        checks.push({ name: 'store', ok: true });
      } catch {
        checks.push({ name: 'store', ok: false, detail: 'event store unreachable' });
        return { ok: false, checks };
      }
      try {
        const pending = await pendingMigrations(sql, allMigrations);
        checks.push(pending.length === 0 ? { name: 'migrations', ok: true } : { name: 'migrations', ok: false, detail: `pending: ${pending.join(', ')}` });
      } catch (error) {
        // Not "pending": starting the service would not help; a lock or a permission is the cause.
        const reason = String((error as Error)?.message ?? error).split('\n')[0];
        checks.push({ name: 'migrations', ok: false, detail: `could not read the applied migrations (${reason})` });
      }
      return { ok: checks.every((c) => c.ok), checks };
    },
    close: () => sql.close(),
  };
}
