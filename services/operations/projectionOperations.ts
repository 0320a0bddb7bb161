import { LedgerError } from '../../domain/errors.ts';
import type { LedgerConfig } from '../config.ts';
import type { LedgerDatabase } from '../eventstore/database.ts';
import type { SqlExecutor } from '../eventstore/sqlClient.ts';
import { kafkaProjectionStatus, readTopicOffsets, type TopicOffsets } from '../projector/kafkaLag.ts';
import { projectionStatus, type ProjectionsReport } from '../projector/projectionStatus.ts';
import { READ_MODEL_NAMES } from '../projector/projectorSchema.ts';
import { createRunners } from '../projector/readModelRunners.ts';
import { rebuildReadModel, type RebuildResult } from '../projector/rebuild.ts';
import { connectKafka, ONE_SHOT, silentLogger } from '../relay/kafkaConnection.ts';

// `ledger projections status|rebuild` and /admin/projections: the same two operations.

// With PROJECTOR_SOURCE=kafka the store's checkpoints stand still (the consumer group holds the
// progress), so status asks the broker for its offsets; see kafkaLag.ts.
export async function projectionsStatus(sql: SqlExecutor, config: Pick<LedgerConfig, 'projectorSource' | 'kafka'>): Promise<ProjectionsReport> {
  if (config.projectorSource !== 'kafka') return projectionStatus(sql, READ_MODEL_NAMES);
  const settings = { topic: config.kafka.topic, groupId: config.kafka.groupId };
  let offsets: TopicOffsets[];
  try {
    const kafka = connectKafka(config, silentLogger, 'status', ONE_SHOT);
    offsets = await readTopicOffsets(kafka, settings);
  } catch {
    throw new LedgerError('LEDGER_KAFKA_UNAVAILABLE', 'Kafka did not answer: in Kafka mode, projection lag is read from the consumer group (KAFKA_BROKERS)');
  }
  return kafkaProjectionStatus(sql, offsets, settings, READ_MODEL_NAMES);
}

export async function rebuildProjection(
  db: LedgerDatabase,
  config: LedgerConfig,
  name: string,
  onProgress?: (events: number) => void,
): Promise<RebuildResult> {
  // Applying is pure, so an event that fails once fails every time: the rebuild parks it at
  // once (the swap hands it to the live list) instead of retrying its whole batch and giving up.
  const runner = [...createRunners(db, config, { maxAttempts: 1 }).values()].find((candidate) => candidate.checkpointName === name);
  if (runner === undefined) throw new LedgerError('LEDGER_NOT_FOUND', `No read model ${name} (${READ_MODEL_NAMES.join(', ')})`);
  return rebuildReadModel(db.sql, runner, onProgress ? { onProgress } : {});
}
