import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { LedgerDatabase } from '../eventstore/database.ts';
import { readAllWith } from '../eventstore/postgresEventStore.ts';
import { onEveryAppend } from '../projector/appendSignals.ts';
import { toKafkaMessage } from './eventMessages.ts';
import { ensureTopic, type KafkaLogger } from './kafkaConnection.ts';

export interface RelaySettings {
  topic: string;
  batchSize: number;
  pollIntervalMs: number;
  logger: KafkaLogger;
  // How long one send keeps retrying (broker restarting, leader moving) before the batch fails
  // and is retried from the checkpoint with a fresh producer (duplicates possible, never a loss).
  // About 20 s by default.
  sendRetry?: { retries: number; maxRetryTime: number };
}

export interface RelayBatch {
  produced: number;
  position: bigint;
  more: boolean;
}

// Follows the global log from its checkpoint and produces every event to the topic.
//
// Delivery is at-least-once. Each batch is one transaction: lock -> read after the checkpoint
// -> produce and wait for the broker's acknowledgement (acks = all) -> move the checkpoint ->
// commit. A crash between the acknowledgement and the commit re-produces that batch on restart;
// a failed or timed-out send moves nothing and is retried with a fresh producer. A clean stop
// finishes the batch in flight, so a restart produces nothing twice. Consumers de-duplicate by
// event id (our projectors: by position per customer, see applyGivenTogether).
//
// The transaction holds a row-free advisory lock and writes only at the end, so it takes no
// transaction id while it waits on the broker and cannot hold back the gap-safe readers' xmin
// fence; the lock lets a second relay process wait as a hot standby instead of duplicating.
export class Relay {
  private producer: Producer | undefined;
  private stopped = true;
  private loop: Promise<void> | undefined;
  private readonly wakers = new Set<() => void>();
  private readonly stopWakers = new Set<() => void>();
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly db: LedgerDatabase,
    private readonly kafka: Kafka,
    private readonly settings: RelaySettings,
  ) {}

  async start(): Promise<void> {
    await this.prepare();
    this.stopped = false;
    this.unsubscribe.push(await onEveryAppend(this.db, () => this.wakeAll()));
    this.loop = this.run();
  }

  // Finishes the batch in flight (its checkpoint commits), then disconnects.
  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of [...this.stopWakers]) wake();
    for (const off of this.unsubscribe.splice(0)) off();
    await this.loop;
    await this.producer?.disconnect().catch(() => {});
    this.producer = undefined;
  }

  // Relays everything visible now, then returns (tests, benchmarks).
  async drain(): Promise<number> {
    await this.prepare();
    let produced = 0;
    for (;;) {
      const batch = await this.relayBatch();
      produced += batch.produced;
      if (!batch.more) return produced;
    }
  }

  async relayBatch(): Promise<RelayBatch> {
    const { topic, batchSize } = this.settings;
    const producer = await this.connectedProducer();
    return this.db.sql.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock(hashtext($1))', [`ledger_relay:${topic}`]);
      const { rows } = await tx.query<{ position: string }>('select position::text as position from ledger_relay_checkpoints where topic = $1', [topic]);
      const after = BigInt(rows[0]?.position ?? '0');
      const events = await readAllWith(tx, after, batchSize);
      if (events.length === 0) return { produced: 0, position: after, more: false };
      await producer.send({ topic, acks: -1, messages: events.map(toKafkaMessage) });
      const position = events.at(-1)!.position;
      await tx.query(
        `insert into ledger_relay_checkpoints (topic, position, produced) values ($1, $2::bigint, $3)
         on conflict (topic) do update set position = excluded.position,
           produced = ledger_relay_checkpoints.produced + excluded.produced, updated_at = now()`,
        [topic, position.toString(), events.length],
      );
      return { produced: events.length, position, more: events.length === batchSize };
    });
  }

  private async prepare(): Promise<void> {
    await ensureTopic(this.kafka, this.settings.topic);
    // Outside the batch transactions, so those take no transaction id until their last write.
    await this.db.sql.query('insert into ledger_relay_checkpoints (topic) values ($1) on conflict do nothing', [this.settings.topic]);
  }

  private async connectedProducer(): Promise<Producer> {
    if (this.producer) return this.producer;
    // Idempotent: the broker drops a retried batch it already wrote, and keeps the partition's
    // order with up to 5 requests in flight.
    // The Java client's partitioner (murmur2 of the key), so producers in other languages put a
    // customer in the same partition. Bounded retries: a send that gives up rejects (kafkajs
    // warns that this weakens exactly-once; the relay promises at-least-once), where a send
    // abandoned by a timeout would go on retrying, and writing, in the background.
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 5,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { initialRetryTime: 200, ...(this.settings.sendRetry ?? { retries: 8, maxRetryTime: 5_000 }) },
    });
    await producer.connect();
    this.producer = producer;
    return producer;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        const batch = await this.relayBatch();
        failures = 0;
        if (batch.more) continue;
      } catch (error) {
        failures += 1;
        this.settings.logger.warn({ err: String(error), failures }, 'relay batch failed; nothing was checkpointed, retrying');
        // A producer whose send failed may hold a stale sequence for the partition; start afresh.
        const producer = this.producer;
        this.producer = undefined;
        await producer?.disconnect().catch(() => {});
        await this.sleep(Math.random() * Math.min(10_000, 200 * 2 ** failures), false);
        continue;
      }
      await this.sleep(this.settings.pollIntervalMs, true);
    }
  }

  private wakeAll(): void {
    for (const wake of [...this.wakers]) wake();
  }

  // Stopping ends any sleep; an append ends only the idle one, not a backoff.
  private sleep(ms: number, wakeOnAppend: boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        this.stopWakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.stopWakers.add(done);
      if (wakeOnAppend) this.wakers.add(done);
    });
  }
}
