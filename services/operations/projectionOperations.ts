import { LedgerError } from '../../domain/errors.ts';
import type { LedgerConfig } from '../config.ts';
import type { LedgerDatabase } from '../eventstore/database.ts';
import type { SqlExecutor } from '../eventstore/sqlClient.ts';
import { projectionStatus, type ProjectionStatus } from '../projector/projectionStatus.ts';
import { READ_MODEL_NAMES } from '../projector/projectorSchema.ts';
import { createRunners } from '../projector/readModelRunners.ts';
import { rebuildReadModel, type RebuildResult } from '../projector/rebuild.ts';

// `ledger projections status|rebuild` and /admin/projections: the same two operations.

export function projectionsStatus(sql: SqlExecutor): Promise<{ projections: ProjectionStatus[]; fenceHeldEvents: number }> {
  return projectionStatus(sql, READ_MODEL_NAMES);
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
