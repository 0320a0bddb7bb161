import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startService } from './serviceProcess.ts';
import { fmt, percentile, table } from './stats.ts';
import { BENCH_STRIPE_SECRET, postForBody, signedInvoicePaid } from './stripeLoad.ts';
import { BENCH_POSTGRES_URL, benchTargets } from './targets.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RATES = [500, 1000];
const MODELS = ['crm', 'support', 'app'] as const;
const READ_KEY = 'bench-read-key';

// Follows one read model's change feed with long-polls, noting when each customer first shows up.
async function follow(url: string, model: string, seen: Map<string, number>, stop: { done: boolean }): Promise<void> {
  let after = '0';
  while (!stop.done) {
    const response = await fetch(`${url}/v1/${model}/changes?after=${after}&limit=1000&timeoutMs=500`, {
      headers: { authorization: `Bearer ${READ_KEY}` },
    });
    const page = (await response.json()) as { changes: { customerId: string }[]; nextCursor: string };
    const at = performance.now();
    for (const change of page.changes) if (!seen.has(change.customerId)) seen.set(change.customerId, at);
    after = page.nextCursor;
  }
}

async function atRate(url: string, perSecond: number, run: string) {
  const acked = new Map<string, number>();
  const seen = Object.fromEntries(MODELS.map((m) => [m, new Map<string, number>()])) as Record<(typeof MODELS)[number], Map<string, number>>;
  const stop = { done: false };
  const followers = MODELS.map((m) => follow(url, m, seen[m], stop));
  const total = perSecond * SECONDS;
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i += 1) {
    const wait = start + (i * 1000) / perSecond - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    // A new Stripe customer per delivery, so each change-feed entry belongs to one delivery.
    const { body, signature } = signedInvoicePaid(Number.MAX_SAFE_INTEGER, `${run}c${i}`);
    inflight.push(
      postForBody(`${url}/webhooks/stripe`, body, signature).then(({ status, body: reply }) => {
        if (status !== 200) return;
        const customerId = (JSON.parse(reply) as { facts: { customerId?: string }[] }).facts[0]?.customerId;
        if (customerId) acked.set(customerId, performance.now());
      }),
    );
  }
  await Promise.all(inflight);
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline && MODELS.some((m) => [...acked.keys()].some((c) => !seen[m].has(c)))) {
    await new Promise((r) => setTimeout(r, 50));
  }
  stop.done = true;
  await Promise.all(followers);
  const latencies = [...acked].map(([customer, ackAt]) => Math.max(0, Math.max(...MODELS.map((m) => seen[m].get(customer) ?? Number.POSITIVE_INFINITY)) - ackAt));
  return latencies.sort((a, b) => a - b);
}

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
      LEDGER_API_KEYS: `${READ_KEY}:read`,
      LEDGER_RATE_LIMIT_STRIPE_PER_SECOND: '0',
    });
    try {
      const run = Date.now().toString(36);
      await atRate(service.url, 200, `${run}w`);
      for (const rate of RATES) {
        const latencies = await atRate(service.url, rate, `${run}r${rate}`);
        const lost = latencies.filter((l) => !Number.isFinite(l)).length;
        const finite = latencies.filter((l) => Number.isFinite(l));
        rows.push({
          store: target.name,
          rate: `${rate}/s`,
          deliveries: finite.length,
          'not projected in 30 s': lost,
          'p50 ms': fmt(percentile(finite, 50), 1),
          'p95 ms': fmt(percentile(finite, 95), 1),
          'p99 ms': fmt(percentile(finite, 99), 1),
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
