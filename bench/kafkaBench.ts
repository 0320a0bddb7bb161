import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { handleCommand } from '../services/commands/handleCommand.ts';
import type { LedgerDatabase } from '../services/eventstore/database.ts';
import { openDatabase } from '../services/eventstore/openDatabase.ts';
import { READ_MODEL_NAMES } from '../services/projector/projectorSchema.ts';
import { Relay } from '../services/relay/relay.ts';
import { historyOf } from '../test/support/customerHistories.ts';
import { startService } from './serviceProcess.ts';
import { fmt, percentile, table } from './stats.ts';
import { BENCH_STRIPE_SECRET } from './stripeLoad.ts';
import { BENCH_READ_KEY, syncLatencyAt } from './syncLatency.ts';
import { BENCH_POSTGRES_URL } from './targets.ts';

// `npm run bench -- kafka`: needs PostgreSQL (DATABASE_URL) and a broker (KAFKA_BROKERS, e.g.
// eval "$(scripts/kafka.sh start)"). Measures the relay's throughput into Kafka, how fast 1 and
// 3 projector processes drain the topic, and HTTP 2xx -> read-model latency at a fixed rate in
// store-polling mode and in Kafka mode, all in one run.
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? 2000);
const BROKERS = process.env.KAFKA_BROKERS ?? '';
const silent = { info: () => {}, warn: () => {} };
const kafkaVersion = () => /<kafka.version>(.*)<\/kafka.version>/.exec(readFileSync('kafka/pom.xml', 'utf8'))?.[1] ?? 'unknown';
const unique = (prefix: string) => `${prefix}_${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const schemaUrl = (schema: string) => `${BENCH_POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
const quietKafka = () => new Kafka({ clientId: 'ledger-bench', brokers: BROKERS.split(','), logLevel: logLevel.NOTHING });

interface Worker {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

function startWorker(args: string[], env: Record<string, string>): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/cli/main.ts', ...args], {
    env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  return {
    child,
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 50): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// Kafka-mode projector processes, started and settled (every partition assigned) before timing.
async function startProjectors(count: number, env: Record<string, string>): Promise<Worker[]> {
  const workers = Array.from({ length: count }, () => startWorker(['projections', 'run'], { ...env, PROJECTOR_SOURCE: 'kafka' }));
  const assigned = (w: Worker) => [...w.output().matchAll(/partitions ([0-9,]+|none)/g)].at(-1)?.[1]?.split(',').filter((p) => p !== 'none').length ?? 0;
  await until(`${count} projector processes to share the partitions`, () => workers.reduce((n, w) => n + assigned(w), 0) === 6 && workers.every((w) => assigned(w) > 0), 60_000, 100);
  return workers;
}

// Realistic customers (lead, trial, paid, tickets, refunds), 16 at a time.
async function recordCustomers(db: LedgerDatabase, customers: number): Promise<number> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let n = next++; n < customers; n = next++) {
        for (const [i, fact] of historyOf(n).entries()) {
          await handleCommand(
            { store: db.store, now: () => new Date('2026-01-02T00:00:00Z') },
            {
              command: { type: 'RecordFact', fact },
              identities: [{ kind: 'app', externalId: `user_h${n}` }],
              createIfMissing: true,
              idempotencyKey: { source: 'app', sourceEventId: `h${n}-${i}` },
              metadata: { source: 'app', sourceEventId: `h${n}-${i}`, correlationId: `corr-h${n}-${i}` },
            },
          );
        }
      }
    }),
  );
  return Number((await db.sql.query<{ n: string }>('select count(*)::text as n from ledger_events')).rows[0]!.n);
}

// Every read model holds every customer's last event.
async function projected(db: LedgerDatabase): Promise<boolean> {
  const { rows } = await db.sql.query<{ missing: string }>(
    `with last as (select metadata->>'customerId' as customer_id, max(position) as position from ledger_events group by 1)
     select (${READ_MODEL_NAMES.map((m) => `(select count(*) from last left join read_${m} r using (customer_id) where r.position is distinct from last.position)`).join(' + ')})::text as missing`,
  );
  return rows[0]!.missing === '0';
}

async function relayAndProjectorThroughput(rows: Record<string, string | number>[]): Promise<void> {
  const schema = unique('bench_kafka');
  const db = await openDatabase({ databaseUrl: BENCH_POSTGRES_URL, schema, poolSize: 8 });
  const kafka = quietKafka();
  try {
    const events = await recordCustomers(db, CUSTOMERS);
    const topic = unique('ledger-bench-relay');
    const relay = new Relay(db, kafka, { topic, batchSize: 500, pollIntervalMs: 50, logger: silent });
    const t0 = performance.now();
    await relay.drain();
    const relaySeconds = (performance.now() - t0) / 1000;
    await relay.stop();
    rows.push({ measure: 'relay: store -> Kafka (acks=all, idempotent, batches of 500)', processes: 1, events, seconds: fmt(relaySeconds, 2), 'events/s': fmt(events / relaySeconds) });

    for (const count of [1, 3]) {
      await db.sql.exec(
        `${READ_MODEL_NAMES.map((m) => `truncate read_${m}; truncate read_${m}_changes;`).join(' ')} delete from ledger_projection_checkpoints; delete from ledger_parked_events;`,
      );
      const drainTopic = unique('ledger-bench-drain');
      const env = { DATABASE_URL: schemaUrl(schema), KAFKA_BROKERS: BROKERS, KAFKA_TOPIC: drainTopic, KAFKA_GROUP_ID: unique('bench-projectors') };
      const projectors = await startProjectors(count, env);
      try {
        const start = performance.now();
        const feeder = new Relay(db, kafka, { topic: drainTopic, batchSize: 500, pollIntervalMs: 50, logger: silent });
        await feeder.drain();
        await feeder.stop();
        await until('the projectors to apply every event', () => projected(db), 300_000, 100);
        const seconds = (performance.now() - start) / 1000;
        rows.push({ measure: 'Kafka-mode projectors: topic -> 3 read models (relay feeding it)', processes: count, events, seconds: fmt(seconds, 2), 'events/s': fmt(events / seconds) });
      } finally {
        await Promise.all(projectors.map((p) => p.stop()));
      }
    }
  } finally {
    await db.sql.exec(`drop schema ${schema} cascade`);
    await db.close();
  }
}

async function endToEndLatency(rows: Record<string, string | number>[]): Promise<void> {
  const modes: { name: string; projectors: number }[] = [
    { name: 'store polling (in-process projector)', projectors: 0 },
    { name: 'Kafka (relay + projector processes)', projectors: 1 },
    { name: 'Kafka (relay + projector processes)', projectors: 3 },
  ];
  for (const mode of modes) {
    const schema = unique('bench_kafka_e2e');
    const db = await openDatabase({ databaseUrl: BENCH_POSTGRES_URL, schema, poolSize: 4 });
    const topic = unique('ledger-bench-e2e');
    const env = { DATABASE_URL: schemaUrl(schema), KAFKA_BROKERS: BROKERS, KAFKA_TOPIC: topic, KAFKA_GROUP_ID: unique('bench-e2e') };
    const kafkaMode = mode.projectors > 0;
    const service = await startService({
      ...env,
      STRIPE_WEBHOOK_SECRET: BENCH_STRIPE_SECRET,
      LEDGER_RATE_LIMIT_STRIPE_PER_SECOND: '0',
      LEDGER_PROJECTOR: kafkaMode ? 'off' : 'in-process',
      LEDGER_API_KEYS: `${BENCH_READ_KEY}:read`,
      // 503s under overload are counted in the table, not printed one by one.
      LOG_LEVEL: 'fatal',
    });
    const workers: Worker[] = [];
    try {
      if (kafkaMode) {
        workers.push(startWorker(['relay'], env));
        workers.push(...(await startProjectors(mode.projectors, env)));
      }
      const run = unique('r');
      await syncLatencyAt(service.url, 200, 2, `${run}w`); // warm-up: JIT, pools, the group
      const result = await syncLatencyAt(service.url, RATE, SECONDS, run);
      const finite = result.latencies.filter((l) => Number.isFinite(l));
      rows.push({
        mode: mode.name,
        'projector processes': kafkaMode ? mode.projectors : '1 (in serve)',
        rate: `${RATE}/s`,
        '2xx': `${result.ok}/${result.sent}`,
        'not projected in 30 s': result.latencies.length - finite.length,
        'p50 ms': fmt(percentile(finite, 50), 1),
        'p95 ms': fmt(percentile(finite, 95), 1),
        'p99 ms': fmt(percentile(finite, 99), 1),
      });
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await service.stop();
      await db.sql.exec(`drop schema ${schema} cascade`);
      await db.close();
    }
  }
}

async function reachable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: BENCH_POSTGRES_URL, connectionTimeoutMillis: 2000 });
  const pgUp = await client.connect().then(() => true, () => false);
  await client.end().catch(() => {});
  if (!pgUp) return `PostgreSQL at ${BENCH_POSTGRES_URL} unreachable (Kafka mode shares one database between processes)`;
  if (!BROKERS) return 'KAFKA_BROKERS unset (eval "$(scripts/kafka.sh start)")';
  const admin = quietKafka().admin();
  const up = await admin.connect().then(() => admin.listTopics()).then(() => true, () => false);
  await admin.disconnect().catch(() => {});
  return up ? undefined : `no broker answers at ${BROKERS}`;
}

export async function kafkaBench(): Promise<void> {
  const problem = await reachable();
  if (problem) {
    console.log(`(kafka bench skipped: ${problem})`);
    return;
  }
  const throughput: Record<string, string | number>[] = [];
  await relayAndProjectorThroughput(throughput);
  console.log(`\n### Kafka ${kafkaVersion()} (single KRaft node, scripts/kafka.sh), ${CUSTOMERS} realistic customers\n`);
  console.log(table(throughput));
  const latency: Record<string, string | number>[] = [];
  await endToEndLatency(latency);
  console.log(`\n### Signed invoice.paid over HTTP -> all three read models, ${SECONDS} s at ${RATE}/s, Kafka ${kafkaVersion()}\n`);
  console.log(table(latency));
}
