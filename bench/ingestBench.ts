import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startHttpCeiling } from './httpCeiling.ts';
import { startProjectors, startService } from './serviceProcess.ts';
import { bareInsertRate } from './storeBench.ts';
import { cpuMsOfStat, fmt, percentile, processCpuMs, table } from './stats.ts';
import { BENCH_STRIPE_SECRET, post, signedInvoicePaid } from './stripeLoad.ts';
import { BENCH_POSTGRES_URL, benchTargets, walBytes, type BenchTarget } from './targets.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
// Fixed offered rates; BENCH_RATES=100,200 (or empty for none) where the defaults would only queue.
const RATES = (process.env.BENCH_RATES ?? '500,1000,2000').split(',').filter((r) => r.trim() !== '').map(Number);
// Fewer customers (BENCH_CUSTOMERS=100) give each a long history within one run.
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 2000);
// BENCH_PROJECTORS=apart (PostgreSQL): the read models in their own `ledger projections run`
// process, the service with LEDGER_PROJECTOR=off; the service CPU column is both processes'.
const PROJECTORS_APART = process.env.BENCH_PROJECTORS === 'apart';
// BENCH_PROJECTORS=off: the service with LEDGER_PROJECTOR=off and no read models kept at all:
// what the ingest path alone costs.
const PROJECTORS_OFF = process.env.BENCH_PROJECTORS === 'off';
// BENCH_LATE_PERCENT=10: that share of deliveries an hour old (retried by Stripe), each older
// than its customer's newest invoice: what dating a state in source-time order costs.
const LATE_PERCENT = Number(process.env.BENCH_LATE_PERCENT ?? 0);
// Deliveries in flight in the max row (BENCH_MAX_CONCURRENCY); the service sheds past its
// LEDGER_WEBHOOK_MAX_IN_FLIGHT (256).
const MAX_CONCURRENCY = Number(process.env.BENCH_MAX_CONCURRENCY ?? 64);

interface Sample {
  sent: number;
  ok: number;
  // 503 LEDGER_OVERLOADED (load shedding) or LEDGER_STORE_UNAVAILABLE: the provider retries.
  shed: number;
  // Of the 2xx answers only: a refused delivery's quick 503 says nothing about acceptance.
  latencies: number[];
  seconds: number;
  // CPU the service process spent on the row (Linux): steadier than latency on a shared machine.
  cpuMs?: number;
  // CPU every local PostgreSQL process spent on the row (a database on this machine only).
  pgCpuMs?: number;
  // CPU this load generator spent on the row: it shares the cores with the service and PostgreSQL.
  loadCpuMs?: number;
  // WAL PostgreSQL wrote during the row (the whole server): the store's work, the same on a fast or
  // a slow machine, where CPU figures wander with the neighbours.
  walBytes?: number;
}

function cpuMsOf(pids: Array<number | undefined>): number | undefined {
  try {
    return pids.some((pid) => pid === undefined) ? undefined : pids.reduce((sum: number, pid) => sum + processCpuMs(pid!), 0);
  } catch {
    return undefined;
  }
}

// cutime + cstime: what a process's exited and reaped children spent.
const childrenCpuMsOfStat = (stat: string): number => {
  const fields = stat.split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10;
};

// All local `postgres` processes. Backends come and go with the pool; one that exits takes its
// CPU out of the live sum, but the postmaster reaps it, so its children's time counts it instead.
function postgresCpuMs(): number | undefined {
  let total: number | undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.includes(' (postgres) ')) total = (total ?? 0) + cpuMsOfStat(stat) + childrenCpuMsOfStat(stat);
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

async function withCpu(pid: Array<number | undefined>, run: () => Promise<Sample>, measurePostgres: boolean): Promise<Sample> {
  const walBefore = measurePostgres ? await walPosition() : undefined;
  const before = cpuMsOf(pid);
  const pgBefore = measurePostgres ? postgresCpuMs() : undefined;
  const loadBefore = process.cpuUsage();
  const sample = await run();
  const load = process.cpuUsage(loadBefore);
  const after = cpuMsOf(pid);
  const pgAfter = measurePostgres ? postgresCpuMs() : undefined;
  const walAfter = measurePostgres ? await walPosition() : undefined;
  return {
    ...sample,
    ...(walBefore !== undefined && walAfter !== undefined ? { walBytes: Number(walAfter - walBefore) } : {}),
    loadCpuMs: (load.user + load.system) / 1000,
    ...(before !== undefined && after !== undefined ? { cpuMs: after - before } : {}),
    ...(pgBefore !== undefined && pgAfter !== undefined ? { pgCpuMs: pgAfter - pgBefore } : {}),
  };
}

async function closedLoop(url: string, concurrency: number, run: string, seconds = SECONDS): Promise<Sample> {
  const latencies: number[] = [];
  let ok = 0;
  let sent = 0;
  let shed = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const { body, signature } = signedInvoicePaid(CUSTOMERS, run, LATE_PERCENT);
        const t0 = performance.now();
        const status = await post(url, body, signature);
        sent += 1;
        if (status === 200) {
          ok += 1;
          latencies.push(performance.now() - t0);
        } else if (status === 503) {
          shed += 1;
        }
      }
    }),
  );
  return { sent, ok, shed, latencies: latencies.sort((a, b) => a - b), seconds: (performance.now() - start) / 1000 };
}

// Open loop: requests leave on schedule whether or not earlier ones returned, so a slow server
// shows up as latency instead of silently lowering the offered rate.
async function fixedRate(url: string, perSecond: number, run: string): Promise<Sample> {
  const latencies: number[] = [];
  let ok = 0;
  let shed = 0;
  const total = perSecond * SECONDS;
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i += 1) {
    const due = start + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const { body, signature } = signedInvoicePaid(CUSTOMERS, run, LATE_PERCENT);
    inflight.push(
      post(url, body, signature).then((status) => {
        if (status === 200) {
          ok += 1;
          // From the scheduled send time: includes any queueing in this generator.
          latencies.push(performance.now() - due);
        } else if (status === 503) {
          shed += 1;
        }
      }),
    );
  }
  await Promise.all(inflight);
  return { sent: total, ok, shed, latencies: latencies.sort((a, b) => a - b), seconds: (performance.now() - start) / 1000 };
}

const row = (store: string, load: string, s: Sample, telemetry?: TelemetryMode) => ({
  store,
  ...(telemetry ? { telemetry } : {}),
  load,
  'deliveries/s': fmt(s.ok / s.seconds),
  '2xx': `${s.ok}/${s.sent}`,
  '503 (shed)': s.shed,
  'p50 ms': fmt(percentile(s.latencies, 50), 1),
  'p95 ms': fmt(percentile(s.latencies, 95), 1),
  'p99 ms': fmt(percentile(s.latencies, 99), 1),
  'service CPU ms/delivery': s.cpuMs === undefined ? '' : fmt(s.cpuMs / Math.max(1, s.ok), 2),
  'PostgreSQL CPU ms/delivery': s.pgCpuMs === undefined ? '' : fmt(s.pgCpuMs / Math.max(1, s.ok), 2),
  'load generator CPU ms/sent': s.loadCpuMs === undefined ? '' : fmt(s.loadCpuMs / Math.max(1, s.sent), 2),
  'WAL kB/delivery': s.walBytes === undefined ? '' : fmt(s.walBytes / 1024 / Math.max(1, s.ok), 1),
});

// BENCH_TELEMETRY=off: OTEL_SDK_DISABLED=true (no spans, no metrics); on: every span exported
// over OTLP/HTTP (protobuf, the default) to a receiver in its own process, plus metrics; both:
// off then on, with the overhead. Unset: the service's default (metrics, spans not exported).
type TelemetryMode = 'off' | 'on';
const telemetrySetting = process.env.BENCH_TELEMETRY;
const telemetryModes: TelemetryMode[] | undefined =
  telemetrySetting === 'both' ? ['off', 'on'] : telemetrySetting === 'on' || telemetrySetting === 'off' ? [telemetrySetting] : undefined;

// Rounds of every row (BENCH_ROUNDS); with both modes, 3 by default: one 10 s run says little.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (telemetryModes?.length === 2 ? 3 : 1));

interface Measured {
  store: string;
  load: string;
  mode?: TelemetryMode;
  sample: Sample;
}

async function measure(target: BenchTarget, mode: TelemetryMode | undefined, telemetryEnv: Record<string, string>): Promise<Measured[]> {
  const measured: Measured[] = [];
  const isPg = target.name === 'postgres';
  const schema = `bench_ingest_${Date.now().toString(36)}`;
  const dataDir = join(tmpdir(), `ledger-bench-ingest-${Date.now()}`);
  const env: Record<string, string> = isPg
    ? { DATABASE_URL: `${BENCH_POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}` }
    : { LEDGER_DATA_DIR: dataDir };
  if (isPg) await adminQuery(`create schema ${schema}`);
  const apart = PROJECTORS_APART && isPg;
  const service = await startService({
    ...env,
    ...telemetryEnv,
    STRIPE_WEBHOOK_SECRET: BENCH_STRIPE_SECRET,
    LEDGER_RATE_LIMIT_STRIPE_PER_SECOND: '0',
    ...(apart || PROJECTORS_OFF ? { LEDGER_PROJECTOR: 'off' } : {}),
  });
  const projectors = apart ? await startProjectors({ ...env, ...telemetryEnv }) : undefined;
  const url = `${service.url}/webhooks/stripe`;
  const label = (load: string) => (apart ? `${load}, projectors apart` : PROJECTORS_OFF ? `${load}, no projectors` : load);
  try {
    const run = Date.now().toString(36);
    await closedLoop(url, 16, `${run}w`); // warm-up: JIT, connection pools, first customers
    const pids = [service.child.pid, ...(projectors ? [projectors.child.pid] : [])];
    const max = label(`max (${MAX_CONCURRENCY} concurrent)`);
    measured.push({ store: target.name, load: max, ...(mode ? { mode } : {}), sample: await withCpu(pids, () => closedLoop(url, MAX_CONCURRENCY, `${run}m`), isPg) });
    for (const rate of RATES) {
      measured.push({ store: target.name, load: label(`${rate}/s fixed`), ...(mode ? { mode } : {}), sample: await withCpu(pids, () => fixedRate(url, rate, `${run}r${rate}`), isPg) });
    }
  } finally {
    await projectors?.stop();
    await service.stop();
    if (isPg) await adminQuery(`drop schema ${schema} cascade`);
    else await rm(dataDir, { recursive: true, force: true });
  }
  return measured;
}

// The same load against a route that verifies and parses each delivery and stores nothing
// (httpCeiling.ts): the most this machine gives any Stripe endpoint in Node.
async function httpCeilingRow(): Promise<Record<string, string | number>> {
  const server = await startHttpCeiling(BENCH_STRIPE_SECRET);
  try {
    const url = `${server.url}/webhooks/stripe`;
    const run = `c${Date.now().toString(36)}`;
    await closedLoop(url, 16, `${run}w`, 3);
    const s = await withCpu([server.pid], () => closedLoop(url, 64, `${run}m`), false);
    return {
      'verified HTTP ceiling, 64 concurrent, no store': `${fmt(s.ok / s.seconds)} deliveries/s`,
      '2xx': `${s.ok}/${s.sent}`,
      'p99 ms': fmt(percentile(s.latencies, 99), 1),
      'server CPU ms/delivery': s.cpuMs === undefined ? '' : fmt(s.cpuMs / Math.max(1, s.ok), 2),
      'load generator CPU ms/sent': s.loadCpuMs === undefined ? '' : fmt(s.loadCpuMs / Math.max(1, s.sent), 2),
    };
  } finally {
    await server.stop();
  }
}

export async function ingestBench(): Promise<void> {
  const httpCeiling = await httpCeilingRow();
  const rows: Record<string, string | number>[] = [];
  const ceilings: Record<string, string | number>[] = [];
  const measured: Measured[] = [];
  const receiver = telemetryModes?.includes('on') ? await startOtlpReceiver() : undefined;
  try {
    for (const target of await benchTargets()) {
      const ceilingDb = await target.open(32);
      const ceiling = await bareInsertRate(ceilingDb, 32).finally(() => target.dispose(ceilingDb));
      ceilings.push({ store: target.name, 'bare INSERT ceiling, 32 concurrent, no HTTP (rows/s)': fmt(ceiling) });
      // Off and on alternate, round after round (off first, then on first), so a neighbour's
      // burst of load lands on both; the overhead compares medians over the rounds.
      for (let round = 0; round < ROUNDS; round += 1) {
        const modes = telemetryModes ? (round % 2 === 0 ? telemetryModes : [...telemetryModes].reverse()) : [undefined];
        for (const mode of modes) {
          const telemetryEnv: Record<string, string> =
            mode === 'off' ? { OTEL_SDK_DISABLED: 'true' } : mode === 'on' ? { OTEL_EXPORTER_OTLP_ENDPOINT: receiver!.url, OTEL_TRACES_EXPORTER: 'otlp' } : {};
          const results = await measure(target, mode, telemetryEnv);
          measured.push(...results);
          rows.push(...results.map((m) => row(m.store, m.load, m.sample, m.mode)));
        }
      }
    }
  } catch (error) {
    receiver?.stop();
    throw error;
  }
  console.log(`\n### Signed Stripe invoice.paid over HTTP (${SECONDS} s per row, load from a separate process)\n`);
  console.log(table([httpCeiling]));
  console.log('');
  console.log(table(ceilings));
  console.log('');
  console.log(table(rows));
  const budgets = measured.flatMap((m) => budgetLine(m));
  if (budgets.length > 0) console.log(`\n${budgets.join('\n')}`);
  if (telemetryModes?.length === 2) {
    const exports = receiver ? `; the receiver got ${fmt(await receiver.requests())} OTLP export requests` : '';
    console.log(`\n### Telemetry overhead: on (spans exported over OTLP/HTTP, metrics) vs off (OTEL_SDK_DISABLED)${exports}\n`);
    console.log(table(overheadRows(measured)));
  }
  receiver?.stop();
}

// What the max row's CPU per delivery allows on this machine's cores at full use, and what the
// issue's target (3,500 deliveries/s on PostgreSQL) would allow per delivery: the processes share
// the cores, so their sum is what bounds the rate however the work is scheduled.
const TARGET_PER_SECOND = 3500;

// PGlite runs inside the service: two processes there.
function budgetLine({ store, load, sample: s }: Measured): string[] {
  const embedded = store !== 'postgres';
  if (!load.startsWith('max') || s.cpuMs === undefined || (!embedded && s.pgCpuMs === undefined) || s.loadCpuMs === undefined) return [];
  const perDelivery = (ms: number) => ms / Math.max(1, s.ok);
  const parts = [perDelivery(s.cpuMs), ...(embedded ? [] : [perDelivery(s.pgCpuMs!)]), s.loadCpuMs / Math.max(1, s.sent)];
  const total = parts.reduce((sum, ms) => sum + ms, 0);
  const cores = availableParallelism();
  const who = embedded ? 'service with its embedded store + load generator' : 'service + PostgreSQL + load generator';
  return [
    `${store}, ${load}: ${parts.map((ms) => fmt(ms, 2)).join(' + ')} = ${fmt(total, 2)} ms of CPU per delivery (${who}); ` +
      `${cores} cores at full use: at most ${fmt((cores * 1000) / total)} deliveries/s (answered: ${fmt(s.ok / s.seconds)}/s); ` +
      `${fmt(TARGET_PER_SECOND)}/s needs at most ${fmt((cores * 1000) / TARGET_PER_SECOND, 2)} ms`,
  ];
}

const change = (on: number, off: number): string => `${on >= off ? '+' : ''}${fmt(((on - off) / off) * 100, 1)} %`;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

function overheadRows(measured: Measured[]): Record<string, string>[] {
  const keys = [...new Set(measured.map((m) => `${m.store}\u0000${m.load}`))];
  return keys.flatMap((key) => {
    const [store, load] = key.split('\u0000') as [string, string];
    const of = (mode: TelemetryMode) => measured.filter((m) => m.store === store && m.load === load && m.mode === mode).map((m) => m.sample);
    const off = of('off');
    const on = of('on');
    if (off.length === 0 || on.length === 0) return [];
    const rate = (samples: Sample[]) => median(samples.map((s) => s.ok / s.seconds));
    const p99 = (samples: Sample[]) => median(samples.map((s) => percentile(s.latencies, 99)));
    const cpu = (samples: Sample[]) => median(samples.map((s) => (s.cpuMs ?? Number.NaN) / Math.max(1, s.ok)));
    return [
      {
        store,
        load,
        rounds: String(Math.min(off.length, on.length)),
        'deliveries/s off → on (median)': `${fmt(rate(off))} → ${fmt(rate(on))}`,
        throughput: change(rate(on), rate(off)),
        'p99 ms off → on (median)': `${fmt(p99(off), 1)} → ${fmt(p99(on), 1)}`,
        p99: change(p99(on), p99(off)),
        'CPU ms/delivery off → on (median)': `${fmt(cpu(off), 2)} → ${fmt(cpu(on), 2)}`,
        CPU: change(cpu(on), cpu(off)),
      },
    ];
  });
}

// Stands in for the collector: accepts OTLP/HTTP trace exports and answers with an empty
// (valid) protobuf response. Its own process, so it never competes with the load generator.
async function startOtlpReceiver(): Promise<{ url: string; requests(): Promise<number>; stop(): void }> {
  const script = `let n = 0;
    const server = require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => { n += 1; s.writeHead(200, { 'content-type': 'application/x-protobuf' }); s.end(); }); });
    server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
    process.on('message', () => process.send({ requests: n }));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () => new Promise<Record<string, number>>((resolve) => child.once('message', (m) => resolve(m as Record<string, number>)));
  const { port } = await next();
  return {
    url: `http://127.0.0.1:${port}`,
    async requests() {
      const answer = next();
      child.send('count');
      return (await answer).requests ?? 0;
    },
    stop: () => void child.kill(),
  };
}

async function walPosition(): Promise<bigint> {
  const client = new pg.Client({ connectionString: BENCH_POSTGRES_URL });
  await client.connect();
  try {
    return await walBytes(client);
  } finally {
    await client.end();
  }
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
