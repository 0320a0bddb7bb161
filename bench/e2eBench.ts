import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startService } from './serviceProcess.ts';
import { fmt, percentile, table } from './stats.ts';
import { BENCH_STRIPE_SECRET } from './stripeLoad.ts';
import { BENCH_READ_KEY, syncLatencyAt } from './syncLatency.ts';
import { BENCH_POSTGRES_URL, benchTargets } from './targets.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
// The issue's rates; BENCH_E2E_RATES=100,200 adds what this machine sustains.
const RATES = (process.env.BENCH_E2E_RATES ?? '500,1000').split(',').filter((r) => r.trim() !== '').map(Number);

export async function e2eBench(): Promise<void> {
  const rows: Record<string, string | number>[] = [];
  for (const target of await benchTargets()) {
    const isPg = target.name === 'postgres';
    const schema = `bench_e2e_${Date.now().toString(36)}`;
    const dataDir = join(tmpdir(), `ledger-bench-e2e-${Date.now()}`);
    if (isPg) await admin(`create schema ${schema}`);
    const service = await startService({
      ...(isPg ? { DATABASE_URL: `${BENCH_POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}` } : { LEDGER_DATA_DIR: dataDir }),
      STRIPE_WEBHOOK_SECRET: BENCH_STRIPE_SECRET,
      LEDGER_API_KEYS: `${BENCH_READ_KEY}:read`,
      LEDGER_RATE_LIMIT_STRIPE_PER_SECOND: '0',
    });
    try {
      const run = Date.now().toString(36);
      await syncLatencyAt(service.url, 200, SECONDS, `${run}w`); // warm-up: JIT, pools
      for (const rate of RATES) {
        const { sent, ok, latencies, fromSend } = await syncLatencyAt(service.url, rate, SECONDS, `${run}r${rate}`);
        const finite = latencies.filter((l) => Number.isFinite(l));
        const finiteFromSend = fromSend.filter((l) => Number.isFinite(l));
        rows.push({
          store: target.name,
          rate: `${rate}/s`,
          '2xx': `${ok}/${sent}`,
          'not projected in 30 s': latencies.length - finite.length,
          'p50 ms': fmt(percentile(finite, 50), 1),
          'p95 ms': fmt(percentile(finite, 95), 1),
          'p99 ms': fmt(percentile(finite, 99), 1),
          'from send p50 / p95 ms': `${fmt(percentile(finiteFromSend, 50), 1)} / ${fmt(percentile(finiteFromSend, 95), 1)}`,
        });
      }
    } finally {
      await service.stop();
      if (isPg) await admin(`drop schema ${schema} cascade`);
      else await rm(dataDir, { recursive: true, force: true });
    }
  }
  console.log(`\n### HTTP 2xx -> all three read models show the change (${SECONDS} s per rate, in-process projector)\n`);
  console.log(table(rows));
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: BENCH_POSTGRES_URL });
  await client.connect();
  await client.query(sql).finally(() => client.end());
}
