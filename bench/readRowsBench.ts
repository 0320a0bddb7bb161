import pg from 'pg';
import { loadConfig } from '../services/config.ts';
import { openDatabase } from '../services/eventstore/openDatabase.ts';
import { READ_MODEL_NAMES } from '../services/projector/projectorSchema.ts';
import { createProjector } from '../services/projector/readModelRunners.ts';
import { basisOf, loadRowsAndHoldsOf, writeRowsOf, type RowsWrite } from '../services/projector/readModelRows.ts';
import { recordHistories } from '../test/support/customerHistories.ts';
import { TEST_ENV } from '../test/support/testApp.ts';
import { fmt, processCpuMs, table } from './stats.ts';
import { BENCH_POSTGRES_URL } from './targets.ts';

// PostgreSQL's own CPU for the projector's two row statements (readModelRows.ts): loading the
// rows of a batch's customers from all three read models, and writing them back. The rows are
// the real read models' documents and bases for realistic customer histories; a batch is 85
// customers, what one batch held at the ingest max row. One connection, synchronous_commit off
// so the figure is CPU and not the disk; the backend's utime + stime from /proc (a database on
// this machine only).

const CUSTOMERS = 400;
const BATCH = 85;
const CALLS = Number(process.env.BENCH_ROWS_CALLS ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

export async function readRowsBench(): Promise<void> {
  const admin = new pg.Client({ connectionString: BENCH_POSTGRES_URL, connectionTimeoutMillis: 2000 });
  if (!(await admin.connect().then(() => true, () => false))) {
    console.log(`(PostgreSQL at ${BENCH_POSTGRES_URL} unreachable: the rows bench measures PostgreSQL only)`);
    return;
  }
  const schema = `bench_rows_${Date.now().toString(36)}`;
  const url = `${BENCH_POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${schema} -c synchronous_commit=off`)}`;
  const db = await openDatabase({ databaseUrl: url, schema, poolSize: 1 });
  try {
    await recordHistories(db.store, CUSTOMERS);
    await createProjector(db, loadConfig(TEST_ENV)).catchUp();
    await db.sql.exec('analyze');
    const pid = (await db.sql.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    const ids = (await db.sql.query<{ customer_id: string }>('select customer_id from read_crm order by customer_id')).rows.map((r) => r.customer_id);
    const requests = (customerIds: string[]) => READ_MODEL_NAMES.map((name) => ({ table: `read_${name}`, projection: name, customerIds }));
    const samples = { load: [] as number[], write: [] as number[] };
    for (let round = 0; round < ROUNDS; round += 1) {
      let loadMs = 0;
      let writeMs = 0;
      let rows = 0;
      for (let call = 0; call < CALLS; call += 1) {
        const start = (call * BATCH) % ids.length;
        const customers = [...ids.slice(start, start + BATCH), ...ids.slice(0, Math.max(0, start + BATCH - ids.length))];
        let before = processCpuMs(pid);
        const loaded = await loadRowsAndHoldsOf(db.sql, requests(customers));
        loadMs += processCpuMs(pid) - before;
        const writes: RowsWrite[] = loaded.map((part, index) => ({
          table: `read_${READ_MODEL_NAMES[index]}`,
          changeFeed: false,
          rows: [...part.rows].map(([customerId, stored]) => ({
            customerId,
            row: { doc: stored.docJson === null ? null : JSON.parse(stored.docJson), basis: basisOf(stored), position: stored.position, basisLiteral: () => JSON.stringify(stored.basisJson ?? JSON.stringify(basisOf(stored))) },
            docChanged: false,
          })),
        }));
        rows += writes.reduce((sum, w) => sum + w.rows.length, 0);
        before = processCpuMs(pid);
        await writeRowsOf(db.sql, writes);
        writeMs += processCpuMs(pid) - before;
      }
      samples.load.push((loadMs * 1000) / rows);
      samples.write.push((writeMs * 1000) / rows);
    }
    console.log(`\n### Read-model rows: PostgreSQL CPU per row (${CALLS} batches of ${BATCH} customers × 3 read models, ${ROUNDS} rounds)\n`);
    console.log(
      table([
        { statement: 'load (ledger_rows_holds)', 'µs per row, each round': samples.load.map((v) => fmt(v, 1)).join(' / ') },
        { statement: 'write (ledger_write_rows)', 'µs per row, each round': samples.write.map((v) => fmt(v, 1)).join(' / ') },
      ]),
    );
    // What a customer's rows hold once projected: the basis stored once (readModelBasis.ts).
    const sizes = await Promise.all(
      READ_MODEL_NAMES.map(async (name) => {
        const { rows: [size] } = await db.sql.query<{ rows: string; basis: string; doc: string }>(
          `select count(*)::text as rows, coalesce(sum(pg_column_size(basis)), 0)::text as basis, coalesce(sum(pg_column_size(doc)), 0)::text as doc from read_${name}`,
        );
        return { 'read model': name, rows: size!.rows, 'basis bytes per row': fmt(Number(size!.basis) / Number(size!.rows), 0), 'doc bytes per row': fmt(Number(size!.doc) / Number(size!.rows), 0) };
      }),
    );
    console.log(`\n### Stored per row (${CUSTOMERS} customers' histories, compressed sizes)\n`);
    console.log(table(sizes));
  } finally {
    await db.close();
    await admin.query(`drop schema ${schema} cascade`).catch(() => {});
    await admin.end();
  }
}
