import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import pg from 'pg';
import type { RecordedEvent } from '../../contracts/eventMetadata.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { toRecordedEvent } from '../../services/eventstore/postgresEventStore.ts';
import { applyMigrations } from '../../services/eventstore/migrations.ts';
import { openDatabase } from '../../services/eventstore/openDatabase.ts';
import { createPgliteClient } from '../../services/eventstore/pgliteClient.ts';
import { allMigrations } from '../../services/schema.ts';
import { migratedStoreKey } from './migratedDataDir.ts';

export const POSTGRES_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let reachable: Promise<boolean> | undefined;

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export interface DatabaseTarget {
  name: 'pglite' | 'postgres';
  // A fresh, migrated, isolated database (its own Postgres schema), or undefined to skip.
  open(): Promise<LedgerDatabase>;
  // Why this target is skipped outside CI; undefined when it runs.
  skip(): Promise<string | undefined>;
}

const freshSchema = () => `t_${randomBytes(6).toString('hex')}`;

// A new PGlite spends ~3 s of CPU in initdb; one started from a copy of a migrated store ~0.7 s.
// The copy is made once (~6 s) and kept in the temp directory for every test process.
let migratedStore: Promise<Blob> | undefined;

async function migratedStoreFiles(): Promise<Blob> {
  const path = join(tmpdir(), `ledger-test-store-${await migratedStoreKey()}.tar`);
  const kept = await readFile(path).catch(() => undefined);
  if (kept) return new Blob([kept]);
  const sql = await createPgliteClient('memory://');
  try {
    await applyMigrations(sql, allMigrations);
    const files = await sql.dumpDataDir();
    // Written whole, then renamed: a process that reads it never sees half a copy.
    const partial = `${path}.${process.pid}`;
    await writeFile(partial, Buffer.from(await files.arrayBuffer()));
    await rename(partial, path);
    return files;
  } finally {
    await sql.close();
  }
}

const pgliteTarget: DatabaseTarget = {
  name: 'pglite',
  open: async () => openDatabase({ dataDir: 'memory://', startFrom: await (migratedStore ??= migratedStoreFiles()) }),
  skip: async () => undefined,
};

// With CI=true a Postgres that cannot be reached fails the suite instead of skipping it.
const postgresTarget: DatabaseTarget = {
  name: 'postgres',
  open: (poolSize?: number) =>
    openDatabase({ databaseUrl: POSTGRES_URL, schema: freshSchema(), ...(poolSize ? { poolSize } : {}) }),
  async skip() {
    reachable ??= postgresReachable();
    if (await reachable) return undefined;
    if (process.env.CI === 'true') throw new Error(`CI=true but PostgreSQL at ${POSTGRES_URL} is unreachable`);
    return `PostgreSQL unreachable at ${POSTGRES_URL} (set DATABASE_URL; required with CI=true)`;
  },
};

export const databaseTargets: DatabaseTarget[] = [pgliteTarget, postgresTarget];

export async function openPostgres(poolSize = 40): Promise<LedgerDatabase> {
  return openDatabase({ databaseUrl: POSTGRES_URL, schema: freshSchema(), poolSize });
}

// A second pool on the same fresh schema: two "processes" sharing one store (races, NOTIFY).
export async function openSecondPool(first: LedgerDatabase, poolSize: number): Promise<LedgerDatabase> {
  const { rows } = await first.sql.query<{ schema: string }>('select current_schema() as schema');
  return openDatabase({ databaseUrl: POSTGRES_URL, schema: rows[0]!.schema, poolSize });
}

// Drops schemas left behind by tests (they are uniquely named, so nothing shared is touched).
export async function dropSchemaOf(db: LedgerDatabase): Promise<void> {
  if (db.sql.kind !== 'postgres') return;
  const { rows } = await db.sql.query<{ schema: string }>('select current_schema() as schema');
  const schema = rows[0]?.schema;
  if (schema?.startsWith('t_')) await db.sql.exec(`drop schema "${schema}" cascade`);
}

export interface DatabaseSuite {
  readonly db: LedgerDatabase;
  readonly skip: string | undefined;
  readonly target: DatabaseTarget;
}

// `describe` once per database target, with a fresh migrated database opened before and dropped
// after; tests pass `{ skip: suite.skip }` so an unreachable Postgres is reported, not hidden.
export function describeOnEachDatabase(title: string, define: (suite: DatabaseSuite) => void): void {
  for (const target of databaseTargets) describeOn(`${title} on ${target.name}`, target, () => target.open(), define);
}

function describeOn(title: string, target: DatabaseTarget, open: () => Promise<LedgerDatabase>, define: (suite: DatabaseSuite) => void): void {
  describe(title, async () => {
    const skip = await target.skip();
    let db: LedgerDatabase | undefined;
    before(async () => {
      if (!skip) db = await open();
    });
    after(async () => {
      if (!db) return;
      await dropSchemaOf(db);
      await db.close();
    });
    define({
      get db() {
        if (!db) throw new Error('the database opens in before(); use it inside tests');
        return db;
      },
      skip,
      target,
    });
  });
}

// Every committed event, in position order, without the xmin fence: for assertions about what
// was stored. (readAll waits behind any older open transaction on the server, which is right for
// projectors but makes a test depend on unrelated sessions.)
export async function storedEvents(db: LedgerDatabase): Promise<RecordedEvent[]> {
  const { rows } = await db.sql.query<Parameters<typeof toRecordedEvent>[0]>(
    `select position::text as position_text, stream_id, version::text as version_text, event_id::text as event_id,
            type, schema_version, data, metadata, recorded_at from ledger_events order by position`,
  );
  return rows.map(toRecordedEvent);
}

// PostgreSQL only: one connection with generic plans from the first call (the worst case for a
// prepared statement, which keeps the plan it chose while the tables were small), so the
// server's per-table counters see exactly this session's scans. For plan regression tests.
export function describeGenericPlans(title: string, define: (suite: DatabaseSuite) => void): void {
  const open = async () => {
    const db = await openPostgres(1);
    await db.sql.exec('set plan_cache_mode = force_generic_plan');
    return db;
  };
  describeOn(title, databaseTargets.find((t) => t.name === 'postgres')!, open, define);
}

// Backend counters reach the shared statistics views when the session goes idle after a forced
// flush: call before reading pg_stat_user_tables / pg_stat_user_indexes.
export async function flushStatistics(db: LedgerDatabase): Promise<void> {
  await db.sql.query('select pg_stat_force_next_flush()');
  await db.sql.query('select 1');
}

// Test files run side by side: another file's open transaction can hold this one's newest events
// behind the xmin fence.
export { untilOlderTransactionsEnd } from '../../services/projector/commitHorizon.ts';

// The URL of a PostgreSQL store's own schema, for another process or session to open it.
export async function urlOfSchema(db: LedgerDatabase): Promise<string> {
  const { rows } = await db.sql.query<{ schema: string }>('select current_schema() as schema');
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${rows[0]!.schema}`);
  return url.toString();
}

// Runs `during` while another session holds the tables in access exclusive mode (a long
// maintenance statement, say), then lets them go.
export async function whileTablesLocked<T>(db: LedgerDatabase, tables: string[], during: (url: string) => Promise<T>): Promise<T> {
  const url = await urlOfSchema(db);
  const holder = new pg.Client({ connectionString: url });
  await holder.connect();
  try {
    await holder.query('begin');
    await holder.query(`lock table ${tables.join(', ')} in access exclusive mode`);
    return await during(url);
  } finally {
    await holder.end();
  }
}
