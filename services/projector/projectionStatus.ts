import type { SqlExecutor } from '../eventstore/sqlClient.ts';

export interface ProjectionStatus {
  name: string;
  // Every event at or below this position is applied.
  position: string;
  headPosition: string;
  lagEvents: number;
  // Age of the oldest event not yet applied (0 when caught up).
  lagSeconds: number;
  parked: number;
}

export interface ProjectionsReport {
  // Where the projectors read from: the store's log (checkpoints) or Kafka (the consumer group).
  source: 'store' | 'kafka';
  projections: ProjectionStatus[];
  // Committed events a gap-safe reader cannot see yet: they wait behind an older open transaction.
  fenceHeldEvents: number;
  kafka?: KafkaLagReport;
}

export interface KafkaLagReport {
  topic: string;
  groupId: string;
  // The last event the broker acknowledged; events after it wait for `ledger relay`.
  relayPosition: string;
  relayBacklog: number;
  relayLagSeconds: number;
  partitions: PartitionLag[];
}

export interface PartitionLag {
  partition: number;
  highOffset: string;
  appliedOffset: string;
  lagMessages: number;
  lagSeconds: number;
}

// Lag counts only what a gap-safe reader can see. Events held back by an old open transaction
// (the xmin fence) show up in `fenceHeldEvents` instead of being skipped.
export async function projectionStatus(sql: SqlExecutor, names: string[]): Promise<ProjectionsReport> {
  const { rows } = await sql.query<{
    name: string;
    position: string;
    head: string;
    lag_events: string;
    lag_seconds: string | null;
    parked: string;
  }>(
    `with fence as (select pg_snapshot_xmin(pg_current_snapshot()) as xmin),
          head as (select coalesce(max(position), 0) as position from ledger_events, fence where transaction_id < fence.xmin)
     select n.name,
            coalesce(c.position, 0)::text as position,
            head.position::text as head,
            (select count(*) from ledger_events e, fence where e.position > coalesce(c.position, 0) and e.transaction_id < fence.xmin)::text as lag_events,
            (select extract(epoch from now() - min(e.recorded_at)) from ledger_events e, fence
              where e.position > coalesce(c.position, 0) and e.transaction_id < fence.xmin)::text as lag_seconds,
            ${PARKED_COUNT}
       from unnest($1::text[]) as n(name)
       cross join head
       left join ledger_projection_checkpoints c on c.name = n.name
      order by n.name`,
    [names],
  );
  return {
    source: 'store',
    projections: rows.map((r) => ({
      name: r.name,
      position: r.position,
      headPosition: r.head,
      lagEvents: Number(r.lag_events),
      lagSeconds: Math.max(0, Number(r.lag_seconds ?? 0)),
      parked: Number(r.parked),
    })),
    fenceHeldEvents: await fenceHeldEvents(sql),
  };
}

const PARKED_COUNT = `(select count(*) from ledger_parked_events p where p.projection = n.name and p.status = 'parked')::text as parked`;

export async function parkedCounts(sql: SqlExecutor, names: string[]): Promise<Map<string, number>> {
  const { rows } = await sql.query<{ name: string; parked: string }>(`select n.name, ${PARKED_COUNT} from unnest($1::text[]) as n(name)`, [names]);
  return new Map(rows.map((r) => [r.name, Number(r.parked)]));
}

export async function fenceHeldEvents(sql: SqlExecutor): Promise<number> {
  const { rows } = await sql.query<{ held: string }>(
    `select count(*)::text as held from ledger_events where transaction_id >= pg_snapshot_xmin(pg_current_snapshot())`,
  );
  return Number(rows[0]?.held ?? 0);
}
