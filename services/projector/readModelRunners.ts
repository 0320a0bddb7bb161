import { readModelOptionsFrom, readModels } from '../../projections/readModels.ts';
import type { ReadModel, ReadModelName } from '../../projections/projection.ts';
import type { LedgerConfig } from '../config.ts';
import type { LedgerDatabase } from '../eventstore/database.ts';
import { Projector, type ProjectorLogger } from './projector.ts';
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

export function createProjector(db: LedgerDatabase, config: LedgerConfig, logger?: ProjectorLogger, settings: RunnerOptions = {}): Projector {
  return new Projector(db, [...createRunners(db, config, settings).values()], {
    pollIntervalMs: config.projector.pollIntervalMs,
    minIntervalMs: config.projector.minIntervalMs ?? (db.sql.kind === 'pglite' ? 10 : 0),
    ...(logger ? { logger } : {}),
  });
}
