import type { Migration } from '../eventstore/migrations.ts';
import type { SqlExecutor } from '../eventstore/sqlClient.ts';

// In Kafka mode the read models' progress lives in the consumer group, not in the store's
// checkpoints. This row, written in the same transaction as the read models, says per partition
// how far they are (the next offset to apply) and the global position of the last event applied
// there: what lag needs to find the oldest event still waiting (see kafkaLag.ts). It is also
// the truth when a crash fell between the database commit and the Kafka offset commit.
export const kafkaProgressMigrations: Migration[] = [
  {
    id: '0012_kafka_progress',
    sql: `
create table ledger_kafka_progress (
  group_id text not null,
  topic text not null,
  partition int not null,
  next_offset bigint not null,
  position bigint not null,
  updated_at timestamptz not null default now(),
  primary key (group_id, topic, partition)
);
`,
  },
];

export interface PartitionProgress {
  partition: number;
  nextOffset: bigint;
  position: bigint;
}

// greatest(): a relay repeat or a batch redelivered after a rebalance never moves it back.
export async function recordPartitionProgress(tx: SqlExecutor, groupId: string, topic: string, progress: PartitionProgress): Promise<void> {
  await tx.query(
    `insert into ledger_kafka_progress (group_id, topic, partition, next_offset, position) values ($1, $2, $3::int, $4::bigint, $5::bigint)
     on conflict (group_id, topic, partition) do update
       set next_offset = greatest(ledger_kafka_progress.next_offset, excluded.next_offset),
           position = greatest(ledger_kafka_progress.position, excluded.position), updated_at = now()`,
    [groupId, topic, progress.partition, progress.nextOffset.toString(), progress.position.toString()],
  );
}

export async function partitionProgress(sql: SqlExecutor, groupId: string, topic: string): Promise<Map<number, PartitionProgress>> {
  const { rows } = await sql.query<{ partition: number; next_offset: string; position: string }>(
    'select partition, next_offset::text, position::text from ledger_kafka_progress where group_id = $1 and topic = $2',
    [groupId, topic],
  );
  return new Map(rows.map((r) => [Number(r.partition), { partition: Number(r.partition), nextOffset: BigInt(r.next_offset), position: BigInt(r.position) }]));
}
