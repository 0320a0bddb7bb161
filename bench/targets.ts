import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { NewEvent } from '../contracts/eventMetadata.ts';
import type { LedgerDatabase } from '../services/eventstore/database.ts';
import { openDatabase } from '../services/eventstore/openDatabase.ts';

export interface BenchTarget {
  name: string;
  open(poolSize: number): Promise<LedgerDatabase>;
  dispose(db: LedgerDatabase): Promise<void>;
}

export const BENCH_POSTGRES_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

// Bytes of WAL the server has written since it was initialised: a difference of two is a run's WAL.
export async function walBytes(client: pg.Client): Promise<bigint> {
  const { rows } = await client.query<{ at: string }>(`select (pg_current_wal_lsn() - '0/0')::text as at`);
  return BigInt(rows[0]!.at);
}

export function benchEvent(customerId: string): NewEvent {
  return {
    type: 'PaymentSucceeded',
    schemaVersion: 1,
    data: { occurredAt: '2026-01-01T00:00:00.000Z', amountCents: 4900, currency: 'usd', invoiceId: 'in_bench', subscriptionId: 'sub_bench' },
    metadata: { customerId, occurredAt: '2026-01-01T00:00:00.000Z', source: 'stripe', correlationId: 'bench' },
  };
}

// PGlite is measured file-backed (what `npm start` runs), not in memory.
const pglite: BenchTarget = {
  name: 'pglite (file)',
  async open() {
    const dir = join(tmpdir(), `ledger-bench-${process.pid}-${Date.now()}`);
    const db = await openDatabase({ dataDir: dir });
    (db as LedgerDatabase & { benchDir?: string }).benchDir = dir;
    return db;
  },
  async dispose(db) {
    await db.close();
    const dir = (db as LedgerDatabase & { benchDir?: string }).benchDir;
    if (dir) await rm(dir, { recursive: true, force: true });
  },
};

const postgres: BenchTarget = {
  name: 'postgres',
  async open(poolSize) {
    const schema = `bench_${Date.now().toString(36)}`;
    return openDatabase({ databaseUrl: BENCH_POSTGRES_URL, schema, poolSize: Math.max(poolSize, 2) });
  },
  async dispose(db) {
    const { rows } = await db.sql.query<{ s: string }>('select current_schema() as s');
    await db.sql.exec(`drop schema "${rows[0]!.s}" cascade`);
    await db.close();
  },
};

export async function benchTargets(): Promise<BenchTarget[]> {
  const client = new pg.Client({ connectionString: BENCH_POSTGRES_URL, connectionTimeoutMillis: 2000 });
  const reachable = await client.connect().then(() => true, () => false);
  await client.end().catch(() => {});
  if (!reachable) console.log(`(PostgreSQL at ${BENCH_POSTGRES_URL} unreachable: measuring PGlite only)`);
  const only = process.env.BENCH_STORE;
  return [pglite, ...(reachable ? [postgres] : [])].filter((t) => !only || t.name.startsWith(only));
}
