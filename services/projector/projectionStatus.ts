import type { SqlExecutor } from '../eventstore/sqlClient.ts';

export interface ProjectionStatus {
  name: string;
  position: string;
  headPosition: string;
  lagEvents: number;
  // Age of the oldest event not yet applied (0 when caught up).
  lagSeconds: number;
  parked: number;
}

// Lag counts only what a gap-safe reader can see. Events held back by an old open transaction
// (the xmin fence) show up in `fenceHeldEvents` instead of being skipped.
export async function projectionStatus(sql: SqlExecutor, names: string[]): Promise<{ projections: ProjectionStatus[]; fenceHeldEvents: number }> {
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
            (select count(*) from ledger_parked_events p where p.projection = n.name and p.status = 'parked')::text as parked
       from unnest($1::text[]) as n(name)
       cross join head
       left join ledger_projection_checkpoints c on c.name = n.name
      order by n.name`,
    [names],
  );
  const fence = await sql.query<{ held: string }>(
    `select count(*)::text as held from ledger_events where transaction_id >= pg_snapshot_xmin(pg_current_snapshot())`,
  );
  return {
    projections: rows.map((r) => ({
      name: r.name,
      position: r.position,
      headPosition: r.head,
      lagEvents: Number(r.lag_events),
      lagSeconds: Math.max(0, Number(r.lag_seconds ?? 0)),
      parked: Number(r.parked),
    })),
    fenceHeldEvents: Number(fence.rows[0]?.held ?? 0),
  };
}
