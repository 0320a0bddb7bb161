import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { RecordedEvent } from '../../contracts/eventMetadata.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { fromKafkaMessage } from '../../services/relay/eventMessages.ts';
import { databaseTargets, POSTGRES_URL } from './databases.ts';

// The real broker the Kafka tests run against: KAFKA_BROKERS (scripts/kafka.sh start prints it;
// .ci/run exports it). With CI=true a missing or unreachable broker fails the suite instead of
// skipping it. The tests also need PostgreSQL: several processes share one database.
export const KAFKA_BROKERS = process.env.KAFKA_BROKERS?.trim() ?? '';

export const quietKafka = (brokers = KAFKA_BROKERS, clientId = 'ledger-test'): Kafka =>
  new Kafka({ clientId, brokers: brokers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1_000 } });

let reachable: Promise<boolean> | undefined;

async function brokerReachable(): Promise<boolean> {
  const admin = new Kafka({ clientId: 'ledger-test-probe', brokers: KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING, retry: { retries: 2 } }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

// Why the Kafka tests are skipped outside CI; undefined when they run.
export async function kafkaSkip(): Promise<string | undefined> {
  const postgres = await databaseTargets.find((t) => t.name === 'postgres')!.skip();
  if (postgres) return postgres;
  const problem = KAFKA_BROKERS === '' ? 'KAFKA_BROKERS is unset' : (reachable ??= brokerReachable()).then((ok) => (ok ? undefined : `no Kafka broker answers at ${KAFKA_BROKERS}`));
  const reason = await problem;
  if (reason === undefined) return undefined;
  if (process.env.CI === 'true') throw new Error(`CI=true but ${reason} (.ci/run starts one with scripts/kafka.sh)`);
  return `${reason} (eval "$(scripts/kafka.sh start)" to run the Kafka tests)`;
}

export const uniqueName = (prefix: string): string => `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

// A Postgres schema child processes can share: DATABASE_URL with its search_path.
export function schemaUrl(schema: string): string {
  return `${POSTGRES_URL}${POSTGRES_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

export interface TopicMessage {
  partition: number;
  offset: string;
  key: string;
  headers: Record<string, string>;
  event: RecordedEvent;
}

// Everything in the topic now, partition by partition in offset order, read by a throwaway
// consumer group of its own (the code under test's group offsets are left alone).
export async function readTopic(kafka: Kafka, topic: string): Promise<TopicMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const wanted = new Map(ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]));
  const messages: TopicMessage[] = [];
  if (wanted.size === 0) return messages;
  const consumer = kafka.consumer({ groupId: uniqueName('ledger-test-reader'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
        messages.push({ partition, offset: message.offset, key: message.key?.toString() ?? '', headers, event: fromKafkaMessage(message.value) });
        if (BigInt(message.offset) + 1n >= (wanted.get(partition) ?? 0n)) wanted.delete(partition);
        if (wanted.size === 0) resolve();
      },
    });
  });
  // A new group's first join can take this long on a loaded machine (another test file beside it,
  // a broker just restarted): 30 s once ran out in a full run on a slow machine, after the relay
  // had produced every event.
  await withDeadline(done, 60_000, `reading ${topic}`);
  await consumer.disconnect();
  return messages.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

export async function deleteTopic(kafka: Kafka, topic: string): Promise<void> {
  const admin: Admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
}

export async function relayCheckpoint(db: LedgerDatabase, topic: string): Promise<bigint> {
  const { rows } = await db.sql.query<{ position: string }>('select position::text as position from ledger_relay_checkpoints where topic = $1', [topic]);
  return BigInt(rows[0]?.position ?? '0');
}

export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 60_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

// A private broker beside the shared one, for a test that stops and restarts it: the same
// script a newcomer uses, with other ports and its own state directory.
export interface PrivateBroker {
  brokers: string;
  start(): Promise<void>;
  kill(signal: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

export function privateBroker(ports: { port: number; controllerPort: number }, stateDir: string): PrivateBroker {
  const env = { ...process.env, KAFKA_PORT: String(ports.port), KAFKA_CONTROLLER_PORT: String(ports.controllerPort), KAFKA_STATE_DIR: stateDir };
  const script = (action: string) =>
    new Promise<void>((resolve, reject) =>
      execFile('bash', ['scripts/kafka.sh', action], { env, timeout: 180_000 }, (error, _stdout, stderr) =>
        error ? reject(new Error(`scripts/kafka.sh ${action} failed: ${stderr}`)) : resolve(),
      ),
    );
  return {
    brokers: `127.0.0.1:${ports.port}`,
    start: () => script('start'),
    stop: () => script('stop'),
    async kill(signal) {
      const { readFile } = await import('node:fs/promises');
      const pid = Number((await readFile(`${stateDir}/broker.pid`, 'utf8')).trim());
      process.kill(pid, signal);
      await waitUntil('the broker to exit', async () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      }, 30_000, 50);
    },
  };
}
