import { readModelOptionsFrom, readModels } from '../../projections/readModels.ts';
import type { ReadModel, ReadModelName } from '../../projections/projection.ts';
import type { LedgerConfig } from '../config.ts';
import type { LedgerDatabase } from '../eventstore/database.ts';
import { Projector, type ProjectorLogger, type ProjectorSettings } from './projector.ts';
import { ProjectionRunner, type RunnerOptions } from './projectionRunner.ts';

export function createRunners(db: LedgerDatabase, config: LedgerConfig, settings: RunnerOptions = {}): Map<ReadModelName, ProjectionRunner<unknown>> {
  const options = readModelOptionsFrom(config.projections);
  const runner = <O>(model: ReadModel<unknown, unknown, O>, modelOptions: O) =>
    new ProjectionRunner(db.sql, model, modelOptions, { batchSize: config.projector.batchSize, ...settings }) as ProjectionRunner<unknown>;
  return new Map<ReadModelName, ProjectionRunner<unknown>>([
    ['crm', runner(readModels.crm as ReadModel<unknown, unknown, typeof options.crm>, options.crm)],
    ['support', runner(readModels.support as ReadModel<unknown, unknown, typeof options.support>, options.support)],
    ['app', runner(readModels.app as ReadModel<unknown, unknown, typeof options.app>, options.app)],
  ]);
}

// PGlite is one connection in the service's own thread: the read models' batches compete with
// ingest for it. A fixed spacing alone (10 ms) collapsed on a machine where a delivery took
// longer than that: a transaction per read model per delivery, ingest 51-73/s instead of ~240.
// While appends keep coming, the next batch starts no sooner than twice the last one's duration
// after it started, so the projector holds the connection at most about half the time whatever
// the machine, and its batches grow with the load; a quiet store still projects at once. (Four
// times suited three read models batching apart; batching together, it left read models ~100 ms
// late at 50 deliveries/s for no more throughput.)
export function projectorSettings(kind: LedgerDatabase['sql']['kind'], config: LedgerConfig): ProjectorSettings {
  const embedded = kind === 'pglite';
  return {
    pollIntervalMs: config.projector.pollIntervalMs,
    minIntervalMs: config.projector.minIntervalMs ?? (embedded ? 10 : 0),
    batchTimeMultiple: embedded ? 2 : 0,
  };
}

export function createProjector(db: LedgerDatabase, config: LedgerConfig, logger?: ProjectorLogger, settings: RunnerOptions = {}): Projector {
  return new Projector(db, [...createRunners(db, config, settings).values()], {
    ...projectorSettings(db.sql.kind, config),
    ...(logger ? { logger } : {}),
  });
}
