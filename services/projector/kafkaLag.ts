import { Partitioners, type Kafka, type PartitionMetadata } from 'kafkajs';
import type { SqlExecutor } from '../eventstore/sqlClient.ts';
import { partitionProgress } from './kafkaProgress.ts';
import { fenceHeldEvents, parkedCounts, type PartitionLag, type ProjectionsReport } from './projectionStatus.ts';

export interface KafkaLagSettings {
  topic: string;
  groupId: string;
}

export interface TopicOffsets {
  partition: number;
  high: bigint;
  low: bigint;
  // The consumer group's committed offset; undefined when it has none for the partition.
  committed: bigint | undefined;
}

// The topic's end offsets and the group's committed ones, in one short admin session.
export async function readTopicOffsets(kafka: Kafka, { topic, groupId }: KafkaLagSettings): Promise<TopicOffsets[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // No topic yet (the relay never ran): nothing is in Kafka, everything waits for the relay.
    if (!(await admin.listTopics()).includes(topic)) return [];
    const ends = await admin.fetchTopicOffsets(topic);
    const [group] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const committed = new Map((group?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    return ends
      .map((p) => {
        const offset = committed.get(p.partition);
        return { partition: p.partition, high: BigInt(p.high), low: BigInt(p.low), committed: offset === undefined || offset < 0n ? undefined : offset };
      })
      .sort((a, b) => a.partition - b.partition);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

// The relay's partitioner (murmur2 of the customer id), so an event's partition is known here
// without asking the broker.
export function partitionOf(partitions: number): (customerId: string) => number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata: PartitionMetadata[] = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
    partitionErrorCode: 0,
  }));
  return (customerId) => partitioner({ topic: '', partitionMetadata, message: { key: customerId, value: null } });
}

// How far back the search for a partition's oldest waiting event may read before it settles
// for an upper bound (see below).
const SCAN_PAGE = 2_000;
const SCAN_LIMIT = 100_000;

interface Waiting {
  position: bigint;
  ageSeconds: number;
}

// Projection status in Kafka mode. The store's checkpoints do not move there (the consumer
// group's offsets are the checkpoint), so lag is what is still on its way:
//
//   events the relay has not produced yet (after its checkpoint, gap-safe)
// + messages past what the read models applied, per partition (end offset - applied offset,
//   applied = the greater of the group's committed offset and the progress row of the same
//   transaction as the read models).
//
// Lag in seconds is the age of the oldest such event. For a partition that lags, that is the
// first event after the last one applied there (its progress row's position) whose customer
// hashes to that partition: found by reading the log forward from that position. Should that
// read pass SCAN_LIMIT events without meeting one (a partition quiet for that long), the first
// event after the position stands in: an upper bound, so an alert errs towards firing.
//
// All three read models are applied in one transaction per partition batch, so their lag is
// one figure; parked counts are their own.
export async function kafkaProjectionStatus(sql: SqlExecutor, offsets: TopicOffsets[], settings: KafkaLagSettings, names: string[]): Promise<ProjectionsReport> {
  const { topic, groupId } = settings;
  const progress = await partitionProgress(sql, groupId, topic);
  const { rows: relayRows } = await sql.query<{ position: string; head: string; backlog: string; first: string | null; age: number | null }>(
    `with fence as (select pg_snapshot_xmin(pg_current_snapshot()) as xmin),
          relay as (select coalesce((select position from ledger_relay_checkpoints where topic = $1), 0) as position)
     select relay.position::text as position,
            (select coalesce(max(position), 0) from ledger_events, fence where transaction_id < fence.xmin)::text as head,
            count(e.position)::text as backlog, min(e.position)::text as first,
            extract(epoch from now() - min(e.recorded_at))::float8 as age
       from relay
       left join lateral (select e.position, e.recorded_at from ledger_events e, fence
                           where e.position > relay.position and e.transaction_id < fence.xmin) e on true
      group by relay.position`,
    [topic],
  );
  const relay = relayRows[0]!;
  const relayPosition = BigInt(relay.position);

  const lagging: { partition: number; after: bigint }[] = [];
  const partitions = offsets.map((o) => {
    const fromRow = progress.get(o.partition)?.nextOffset ?? 0n;
    const applied = [o.low, o.committed ?? 0n, fromRow].reduce((a, b) => (b > a ? b : a));
    const lagMessages = Number(o.high > applied ? o.high - applied : 0n);
    if (lagMessages > 0) lagging.push({ partition: o.partition, after: progress.get(o.partition)?.position ?? 0n });
    return { partition: o.partition, highOffset: o.high.toString(), appliedOffset: applied.toString(), lagMessages, lagSeconds: 0 };
  });
  const oldest = await oldestWaiting(sql, lagging, relayPosition, partitionOf(offsets.length));
  for (const p of partitions) p.lagSeconds = oldest.get(p.partition)?.ageSeconds ?? 0;

  const waiting: Waiting[] = [...oldest.values()];
  if (relay.first !== null) waiting.push({ position: BigInt(relay.first), ageSeconds: Math.max(0, relay.age ?? 0) });
  const first = waiting.reduce<Waiting | undefined>((a, b) => (a === undefined || b.position < a.position ? b : a), undefined);
  const lagEvents = Number(relay.backlog) + partitions.reduce((n, p) => n + p.lagMessages, 0);
  const lagSeconds = waiting.reduce((max, w) => Math.max(max, w.ageSeconds), 0);
  const parked = await parkedCounts(sql, names);
  return {
    source: 'kafka',
    projections: [...names].sort().map((name) => ({
      name,
      position: first === undefined ? relay.head : (first.position - 1n).toString(),
      headPosition: relay.head,
      lagEvents,
      lagSeconds,
      parked: parked.get(name) ?? 0,
    })),
    fenceHeldEvents: await fenceHeldEvents(sql),
    kafka: {
      topic,
      groupId,
      relayPosition: relayPosition.toString(),
      relayBacklog: Number(relay.backlog),
      relayLagSeconds: Math.max(0, relay.age ?? 0),
      partitions: partitions satisfies PartitionLag[],
    },
  };
}

async function oldestWaiting(
  sql: SqlExecutor,
  lagging: { partition: number; after: bigint }[],
  relayPosition: bigint,
  partitionOfCustomer: (customerId: string) => number,
): Promise<Map<number, Waiting>> {
  const found = new Map<number, Waiting>();
  if (lagging.length === 0) return found;
  const wanted = new Map(lagging.map((l) => [l.partition, l.after]));
  let cursor = lagging.reduce((min, l) => (l.after < min ? l.after : min), lagging[0]!.after);
  let read = 0;
  while (wanted.size > 0 && read < SCAN_LIMIT && cursor < relayPosition) {
    const { rows } = await sql.query<{ position: string; customer_id: string; age: number }>(
      `select position::text, metadata->>'customerId' as customer_id, extract(epoch from now() - recorded_at)::float8 as age
         from ledger_events where position > $1::bigint and position <= $2::bigint order by ledger_events.position limit $3::int`,
      [cursor.toString(), relayPosition.toString(), SCAN_PAGE],
    );
    for (const row of rows) {
      const position = BigInt(row.position);
      const partition = partitionOfCustomer(row.customer_id);
      const after = wanted.get(partition);
      if (after !== undefined && position > after) {
        found.set(partition, { position, ageSeconds: Math.max(0, row.age) });
        wanted.delete(partition);
      }
    }
    read += rows.length;
    if (rows.length < SCAN_PAGE) break;
    cursor = BigInt(rows.at(-1)!.position);
  }
  // Not met within the limit: the first event after the partition's last applied one stands in.
  // Not met because the log ended: what lags there are relay repeats of applied events (age 0).
  if (read >= SCAN_LIMIT) {
    for (const [partition, after] of wanted) {
      const { rows } = await sql.query<{ position: string; age: number }>(
        `select position::text, extract(epoch from now() - recorded_at)::float8 as age from ledger_events
          where position > $1::bigint and position <= $2::bigint order by ledger_events.position limit 1`,
        [after.toString(), relayPosition.toString()],
      );
      if (rows[0]) found.set(partition, { position: BigInt(rows[0].position), ageSeconds: Math.max(0, rows[0].age) });
    }
  }
  return found;
}
