import { Kafka, logLevel, type Admin, type LogEntry, type logCreator, type RetryOptions } from 'kafkajs';
import type { LedgerConfig } from '../config.ts';

export interface KafkaLogger {
  info(object: Record<string, unknown>, message: string): void;
  warn(object: Record<string, unknown>, message: string): void;
}

// kafkajs reports every retried request at ERROR (a rebalance, a broker restart); those are
// retried for us, so they are warnings here. Its INFO and DEBUG chatter is dropped.
function logCreatorFor(logger: KafkaLogger): logCreator {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      if (level > logLevel.WARN) return;
      // The stack of a refused connection names kafkajs's socket code, never ours: noise on every retry.
      const { message, timestamp: _timestamp, logger: _name, stack: _stack, ...fields } = log;
      // The relay bounds its idempotent producer's retries on purpose (see Relay).
      if (message.startsWith('Limiting retries for the idempotent producer')) return;
      logger.warn({ kafka: namespace, ...fields }, `kafka: ${message}`);
    };
}

// A broker restart takes seconds: long-running clients keep reconnecting instead of giving up
// after the default ~10 s. One-shot reads (status) pass a short retry and answer promptly.
const PATIENT: RetryOptions = { initialRetryTime: 200, maxRetryTime: 5_000, retries: 30 };
// A few seconds in all: an operator waiting on `relay --once` or a status read hears at once.
export const ONE_SHOT: RetryOptions = { initialRetryTime: 200, maxRetryTime: 1_000, retries: 3 };

export function connectKafka(config: Pick<LedgerConfig, 'kafka'>, logger: KafkaLogger, clientSuffix?: string, retry: RetryOptions = PATIENT): Kafka {
  if (config.kafka.brokers.length === 0) throw new Error('KAFKA_BROKERS is not set');
  return new Kafka({
    clientId: clientSuffix ? `${config.kafka.clientId}-${clientSuffix}` : config.kafka.clientId,
    brokers: config.kafka.brokers,
    logLevel: logLevel.WARN,
    logCreator: logCreatorFor(logger),
    retry,
  });
}

// Creates the topic with the broker's defaults (partitions, replication) when it is missing.
// Brokers here run with auto-creation off, so a misspelt topic fails instead of appearing.
export async function ensureTopic(kafka: Kafka, topic: string): Promise<void> {
  await withAdmin(kafka, async (admin) => {
    if (!(await admin.listTopics()).includes(topic)) await admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
  });
}

export const topicExists = (kafka: Kafka, topic: string): Promise<boolean> => withAdmin(kafka, async (admin) => (await admin.listTopics()).includes(topic));

async function withAdmin<T>(kafka: Kafka, use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

export const silentLogger: KafkaLogger = { info: () => {}, warn: () => {} };

// JSON lines on stderr for the CLI processes (`ledger relay`, `ledger projections run`). An error
// is its type and message (JSON.stringify writes an Error as {}), a bigint its digits (it throws
// on one, which stopped `projections run` at the first failed batch).
const jsonLine = (level: string, message: string, object: Record<string, unknown>): string =>
  `${JSON.stringify({ level, msg: message, ...object }, (_key, value: unknown) =>
    value instanceof Error ? { type: value.name, message: value.message } : typeof value === 'bigint' ? value.toString() : value,
  )}\n`;

export const stderrLogger: KafkaLogger = {
  info: (object, message) => process.stderr.write(jsonLine('info', message, object)),
  warn: (object, message) => process.stderr.write(jsonLine('warn', message, object)),
};
