import { readFileSync } from 'node:fs';
import pg from 'pg';
import { startService } from './serviceProcess.ts';
import { fmt, table } from './stats.ts';
import { BENCH_STRIPE_SECRET, post, signedInvoicePaid } from './stripeLoad.ts';
import { BENCH_POSTGRES_URL, walBytes } from './targets.ts';

// What a delivery costs, counted instead of timed: bytes the service writes (to PostgreSQL and in
// its answers), rows PostgreSQL inserts and updates per table (and how many updates stayed on
// their page), WAL written. Counts do not wander with a shared machine's neighbours as CPU and
// latency do, so a change to the write path can be compared on any machine, in one run each.
// Signed invoice.paid deliveries as the ingest bench sends them, 64 at a time, for customers
// with a few payments each (the service's own projector on, as shipped), after a warm-up.

const DELIVERIES = Number(process.env.BENCH_WORK_DELIVERIES ?? 4_000);
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 2_000);
const CONCURRENCY = 64;

interface ProcessIo {
  wchar: number;
  syscw: number;
}

function processIo(pid: number): ProcessIo {
  const fields = Object.fromEntries(
    readFileSync(`/proc/${pid}/io`, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(': ') as [string, string]),
  );
  return { wchar: Number(fields['wchar']), syscw: Number(fields['syscw']) };
}

interface TableCounts {
  inserted: number;
  updated: number;
  inPlace: number;
}

async function counters(client: pg.Client, schema: string): Promise<{ wal: bigint; tables: Map<string, TableCounts> }> {
  // Statistics reach the shared view when a backend flushes them (at most ~10 s after it idles).
  await client.query('select pg_stat_clear_snapshot()');
  const { rows } = await client.query<{ table: string; inserted: string; updated: string; in_place: string }>(
    `select relname as table, n_tup_ins::text as inserted, n_tup_upd::text as updated, n_tup_hot_upd::text as in_place
       from pg_stat_user_tables where schemaname = $1`,
    [schema],
  );
  return {
    wal: await walBytes(client),
    tables: new Map(rows.map((r) => [r.table, { inserted: Number(r.inserted), updated: Number(r.updated), inPlace: Number(r.in_place) }])),
  };
}

async function deliver(url: string, count: number, run: string): Promise<number> {
  let sent = 0;
  let ok = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (sent < count) {
        sent += 1;
        const { body, signature } = signedInvoicePaid(CUSTOMERS, run);
        if ((await post(url, body, signature)) === 200) ok += 1;
      }
    }),
  );
  return ok;
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function workBench(): Promise<void> {
  const admin = new pg.Client({ connectionString: BENCH_POSTGRES_URL });
  await admin.connect();
  const schema = `bench_work_${Date.now().toString(36)}`;
  await admin.query(`create schema ${schema}`);
  const service = await startService({
    DATABASE_URL: `${BENCH_POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    STRIPE_WEBHOOK_SECRET: BENCH_STRIPE_SECRET,
    LEDGER_RATE_LIMIT_STRIPE_PER_SECOND: '0',
  });
  try {
    const url = `${service.url}/webhooks/stripe`;
    const run = Date.now().toString(36);
    // Warm-up: each customer's first delivery (it creates them) and the service's JIT.
    await deliver(url, CUSTOMERS * 2, run);
    await settle(12_000);
    const before = await counters(admin, schema);
    const ioBefore = processIo(service.child.pid!);
    const ok = await deliver(url, DELIVERIES, run);
    // The projector's last batch, then the statistics' flush.
    await settle(12_000);
    const ioAfter = processIo(service.child.pid!);
    const after = await counters(admin, schema);

    const per = (n: number, digits = 2) => fmt(n / Math.max(1, ok), digits);
    console.log(`\n### Work per delivery (${fmt(ok)} signed invoice.paid deliveries for ${fmt(CUSTOMERS)} known customers, 64 at a time)\n`);
    console.log(
      table([
        {
          'service bytes written': per(ioAfter.wchar - ioBefore.wchar, 0),
          'service writes (syscalls)': per(ioAfter.syscw - ioBefore.syscw),
          'WAL bytes': per(Number(after.wal - before.wal), 0),
        },
      ]),
    );
    const rows = [...after.tables]
      
      .map(([name, now]) => {
        const then = before.tables.get(name) ?? { inserted: 0, updated: 0, inPlace: 0 };
        return { name, inserted: now.inserted - then.inserted, updated: now.updated - then.updated, inPlace: now.inPlace - then.inPlace };
      })
      .filter((row) => row.inserted + row.updated > 0)
      .sort((a, b) => b.inserted + b.updated - (a.inserted + a.updated))
      .map((row) => ({
        table: row.name,
        'rows inserted': per(row.inserted),
        'rows updated': per(row.updated),
        'of them in place (HOT)': per(row.inPlace),
      }));
    console.log();
    console.log(table(rows));
  } finally {
    await service.stop();
    await admin.query(`drop schema ${schema} cascade`);
    await admin.end();
  }
}
