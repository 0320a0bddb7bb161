import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startService } from './serviceProcess.ts';
import { bareInsertRate } from './storeBench.ts';
import { fmt, percentile, table } from './stats.ts';
import { BENCH_STRIPE_SECRET, post, signedInvoicePaid } from './stripeLoad.ts';
import { BENCH_POSTGRES_URL, benchTargets } from './targets.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RATES = [500, 1000, 2000];
const CUSTOMERS = 2000;

interface Sample {
  sent: number;
  ok: number;
  latencies: number[];
  seconds: number;
}

async function closedLoop(url: string, concurrency: number, run: string): Promise<Sample> {
  const latencies: number[] = [];
  let ok = 0;
  const start = performance.now();
  const deadline = start + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const { body, signature } = signedInvoicePaid(CUSTOMERS, run);
        const t0 = performance.now();
        const status = await post(url, body, signature);
        latencies.push(performance.now() - t0);
        if (status === 200) ok += 1;
      }
    }),
  );
  return { sent: latencies.length, ok, latencies: latencies.sort((a, b) => a - b), seconds: (performance.now() - start) / 1000 };
}

// Open loop: requests leave on schedule whether or not earlier ones returned, so a slow server
// shows up as latency instead of silently lowering the offered rate.
async function fixedRate(url: string, perSecond: number, run: string): Promise<Sample> {
  const latencies: number[] = [];
  let ok = 0;
  const total = perSecond * SECONDS;
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i += 1) {
    const due = start + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const { body, signature } = signedInvoicePaid(CUSTOMERS, run);
    inflight.push(
      post(url, body, signature).then((status) => {
        // From the scheduled send time: includes any queueing in this generator.
        latencies.push(performance.now() - due);
        if (status === 200) ok += 1;
      }),
    );
  }
  await Promise.all(inflight);
  return { sent: total, ok, latencies: latencies.sort((a, b) => a - b), seconds: (performance.now() - start) / 1000 };
}

const row = (store: string, load: string, s: Sample) => ({
  store,
  load,
  'deliveries/s': fmt(s.ok / s.seconds),
  '2xx': `${s.ok}/${s.sent}`,
  'p50 ms': fmt(percentile(s.latencies, 50), 1),
  'p95 ms': fmt(percentile(s.latencies, 95), 1),
  'p99 ms': fmt(percentile(s.latencies, 99), 1),
});

export async function ingestBench(): Promise<void> {
  const rows: Record<string, string | number>[] = [];
  for (const target of await benchTargets()) {
    const isPg = target.name === 'postgres';
    const schema = `bench_ingest_${Date.now().toString(36)}`;
    const dataDir = join(tmpdir(), `ledger-bench-ingest-${Date.now()}`);
    const env: Record<string, string> = isPg
      ? { DATABASE_URL: `${BENCH_POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}` }
      : { LEDGER_DATA_DIR: dataDir };
    if (isPg) await adminQuery(`create schema ${schema}`);
    const ceilingDb = await target.open(32);
    const ceiling = await bareInsertRate(ceilingDb, 32).finally(() => target.dispose(ceilingDb));
    rows.push({ store: target.name, load: 'bare INSERT ceiling (32 concurrent, no HTTP)', 'deliveries/s': fmt(ceiling) });
    const service = await startService({ ...env, STRIPE_WEBHOOK_SECRET: BENCH_STRIPE_SECRET, LEDGER_RATE_LIMIT_STRIPE_PER_SECOND: '0' });
    const url = `${service.url}/webhooks/stripe`;
    try {
      const run = Date.now().toString(36);
      await closedLoop(url, 16, `${run}w`); // warm-up: JIT, connection pools, first customers
      rows.push(row(target.name, 'max (64 concurrent)', await closedLoop(url, 64, `${run}m`)));
      for (const rate of RATES) rows.push(row(target.name, `${rate}/s fixed`, await fixedRate(url, rate, `${run}r${rate}`)));
    } finally {
      await service.stop();
      if (isPg) await adminQuery(`drop schema ${schema} cascade`);
      else await rm(dataDir, { recursive: true, force: true });
    }
  }
  console.log(`\n### Signed Stripe invoice.paid over HTTP (${SECONDS} s per row, load from a separate process)\n`);
  console.log(table(rows));
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: BENCH_POSTGRES_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
