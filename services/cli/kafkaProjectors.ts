import type { LedgerConfig } from '../config.ts';
import type { LedgerDatabase } from '../eventstore/database.ts';
import { KafkaProjector } from '../projector/kafkaSource.ts';
import { READ_MODEL_NAMES } from '../projector/projectorSchema.ts';
import { createRunners } from '../projector/readModelRunners.ts';
import { connectKafka, stderrLogger } from '../relay/kafkaConnection.ts';
import { CliError } from './cliError.ts';

// `ledger projections run` with PROJECTOR_SOURCE=kafka: this process joins the consumer group
// and applies the partitions it is given until SIGTERM, then leaves the group.
export async function runKafkaProjectors(db: LedgerDatabase, config: LedgerConfig, args: string[]): Promise<number> {
  if (args.includes('--once')) throw new CliError('--once needs PROJECTOR_SOURCE=store: a consumer group has no "now" to stop at');
  const kafka = connectKafka(config, stderrLogger, 'projector');
  const projector = new KafkaProjector(db, [...createRunners(db, config).values()], kafka, {
    topic: config.kafka.topic,
    groupId: config.kafka.groupId,
    sessionTimeoutMs: config.kafka.sessionTimeoutMs,
    logger: stderrLogger,
  });
  const { owners, ownerAssignment } = config.projections.crm;
  if (ownerAssignment === 'round-robin' && Object.keys(owners).length > 0) {
    stderrLogger.warn(
      { variable: 'LEDGER_CRM_OWNER_ASSIGNMENT' },
      'CRM owners are round-robin: in Kafka mode they follow the order partitions commit in, and a rebuild (log order) can give customers other owners; LEDGER_CRM_OWNER_ASSIGNMENT=hash gives the same owner in any order',
    );
  }
  await projector.start();
  process.stdout.write(
    `projectors running (${READ_MODEL_NAMES.join(', ')}) from Kafka topic ${config.kafka.topic} as group ${config.kafka.groupId}; ` +
      'SIGTERM stops them after the batch in flight\n',
  );
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await projector.stop();
  return 0;
}
