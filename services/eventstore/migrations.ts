import { createHash } from 'node:crypto';
import type { SqlClient } from './sqlClient.ts';

export interface Migration {
  // Sortable and never renamed: '0001_event_store'. Applied in id order, each exactly once.
  id: string;
  sql: string;
}

const MIGRATION_LOCK = 7_202_611; // any constant shared by every ledger process

const checksum = (sql: string) => createHash('sha256').update(sql).digest('hex').slice(0, 16);

export async function applyMigrations(sql: SqlClient, migrations: Migration[]): Promise<string[]> {
  const ordered = [...migrations].sort((a, b) => a.id.localeCompare(b.id));
  return sql.transaction(async (tx) => {
    // Two processes starting together must not both run a migration. As a schema change (`exec`),
    // so that neither the wait for another process's migrations nor the migrations themselves
    // are cut by the statement timeout (DATABASE_QUERY_TIMEOUT_MS).
    await tx.exec(`select pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await tx.query(`create table if not exists ledger_migrations (
      id text primary key, checksum text not null, applied_at timestamptz not null default now())`);
    const { rows } = await tx.query<{ id: string; checksum: string }>('select id, checksum from ledger_migrations');
    const applied = new Map(rows.map((r) => [r.id, r.checksum]));
    const ran: string[] = [];
    for (const migration of ordered) {
      const known = applied.get(migration.id);
      if (known !== undefined) {
        if (known !== checksum(migration.sql)) {
          throw new Error(`Migration ${migration.id} was changed after it was applied; add a new migration instead`);
        }
        continue;
      }
      await tx.exec(migration.sql);
      await tx.query('insert into ledger_migrations (id, checksum) values ($1, $2)', [migration.id, checksum(migration.sql)]);
      ran.push(migration.id);
    }
    return ran;
  });
}

export async function pendingMigrations(sql: SqlClient, migrations: Migration[]): Promise<string[]> {
  const exists = await sql.query<{ present: boolean }>(
    `select to_regclass('ledger_migrations') is not null as present`,
  );
  if (!exists.rows[0]?.present) return migrations.map((m) => m.id);
  const { rows } = await sql.query<{ id: string }>('select id from ledger_migrations');
  const applied = new Set(rows.map((r) => r.id));
  return migrations.filter((m) => !applied.has(m.id)).map((m) => m.id);
}
