import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { RecordedEvent } from '../../contracts/eventMetadata.ts';
import type { LedgerDatabase } from '../eventstore/database.ts';
import { fromKafkaMessage } from '../relay/eventMessages.ts';
import { ensureTopic, type KafkaLogger } from '../relay/kafkaConnection.ts';
import { recordPartitionProgress } from './kafkaProgress.ts';
import { inKafkaBatchSpan } from './kafkaSpans.ts';
import type { CommitListener } from './projector.ts';
import { applyGivenTogether } from './projectionCycle.ts';
import { SharedStateConflict } from './projectionErrors.ts';
import type { BatchResult, ProjectionRunner } from './projectionRunner.ts';

export interface KafkaSourceSettings {
  topic: string;
  groupId: string;
  sessionTimeoutMs: number;
  logger: KafkaLogger;
  // Partitions this process applies at once (each its own transaction).
  partitionsConsumedConcurrently?: number;
}

// Projectors in Kafka mode (PROJECTOR_SOURCE=kafka): one consumer per process in the group
// KAFKA_GROUP_ID; Kafka spreads the topic's partitions over the processes and moves them when
// one joins, leaves or stops heartbeating.
//
// Per batch (one partition): decode -> one Postgres transaction that applies the events to every
// read model (applyGivenTogether; a read model skips what it already has) and records the
// partition's progress (kafkaProgress.ts, what status reads lag from) -> commit -> commit the
// offsets. A crash between the two commits redelivers the batch, which is then
// skipped: the effect is exactly once although delivery is at least once. A per-partition
// advisory lock makes a consumer that lost its partition in a rebalance (and has not noticed
// yet) take turns with the new owner instead of racing it.
//
// Order: the key is the customer id, so a customer's events sit in one partition in the
// relay's (global position) order, and a partition is applied in offset order.
export class KafkaProjector {
  private consumer: Consumer | undefined;
  private readonly listeners = new Set<CommitListener>();
  private assigned: number[] = [];

  constructor(
    private readonly db: LedgerDatabase,
    readonly runners: ProjectionRunner<unknown>[],
    private readonly kafka: Kafka,
    private readonly settings: KafkaSourceSettings,
  ) {}

  onCommitted(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  partitions(): number[] {
    return [...this.assigned];
  }

  async start(): Promise<void> {
    const { topic, groupId, sessionTimeoutMs, logger } = this.settings;
    await ensureTopic(this.kafka, topic);
    const consumer = this.kafka.consumer({
      groupId,
      sessionTimeout: sessionTimeoutMs,
      heartbeatInterval: Math.max(100, Math.floor(sessionTimeoutMs / 10)),
      // Short fetch waits: a quiet topic still answers a stop or a rebalance quickly.
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.assigned = [...(payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
      logger.info({ groupId, topic, partitions: this.assigned }, `kafka projector: partitions ${this.assigned.join(',') || 'none'}`);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      logger.warn({ err: String(payload.error), restart: payload.restart }, 'kafka projector: consumer crashed');
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.settings.partitionsConsumedConcurrently ?? 2,
      eachBatch: (payload) => this.applyBatch(payload),
    });
    this.consumer = consumer;
  }

  // Leaves the group after the batch in flight; its partitions move to the other processes.
  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.consumer = undefined;
  }

  private async applyBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.isEmpty()) return;
    const events: RecordedEvent[] = [];
    for (const message of batch.messages) {
      try {
        events.push(fromKafkaMessage(message.value));
      } catch (error) {
        // The relay is the topic's only producer; anything else is logged and passed over
        // rather than blocking every customer behind it in the partition.
        this.settings.logger.warn({ partition: batch.partition, offset: message.offset, err: String(error) }, 'kafka projector: skipping a message that is not a ledger event');
      }
    }
    const applied = events.length === 0 ? [] : await this.applyWithRetries(payload, events);
    if (applied === undefined) return; // stopping or rebalanced: not committed, redelivered later
    payload.resolveOffset(batch.lastOffset());
    await payload.commitOffsetsIfNecessary();
    await payload.heartbeat();
    for (const [runner, result] of applied) this.emit(runner, result);
  }

  private async applyWithRetries(payload: EachBatchPayload, events: RecordedEvent[]): Promise<[ProjectionRunner<unknown>, BatchResult][] | undefined> {
    const { batch } = payload;
    const { groupId, logger } = this.settings;
    for (let attempt = 1; payload.isRunning() && !payload.isStale(); attempt += 1) {
      try {
        return await inKafkaBatchSpan({ topic: batch.topic, partition: batch.partition, groupId, events }, () =>
          this.db.sql.transaction(async (tx) => {
            await tx.query('select pg_advisory_xact_lock(hashtext($1))', [`ledger_kafka:${groupId}:${batch.topic}:${batch.partition}`]);
            const results = await applyGivenTogether(tx, this.runners, events);
            const position = events.reduce((max, e) => (e.position > max ? e.position : max), 0n);
            await recordPartitionProgress(tx, groupId, batch.topic, { partition: batch.partition, nextOffset: BigInt(batch.lastOffset()) + 1n, position });
            return results;
          }),
        );
      } catch (error) {
        // A failing event is retried with the batch until the runner parks it (maxAttempts).
        if (!(error instanceof SharedStateConflict)) {
          logger.warn({ err: String(error), partition: batch.partition, attempt }, 'kafka projector: batch failed; retrying');
          await new Promise((r) => setTimeout(r, this.runners[0]?.backoffMs(attempt) ?? 100));
        }
        await payload.heartbeat();
      }
    }
    return undefined;
  }

  private emit(runner: ProjectionRunner<unknown>, result: BatchResult): void {
    if (result.applied === 0 && result.parked === 0) return;
    for (const listener of this.listeners) listener(runner.readModel.name, result);
  }
}
