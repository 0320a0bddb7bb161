import { ProjectionParams } from '../../contracts/api/adminApi.ts';
import { parseWith } from '../../contracts/parseBody.ts';
import { projectionsStatus, rebuildProjection } from '../operations/projectionOperations.ts';
import type { ProjectionsReport } from '../projector/projectionStatus.ts';
import { READ_MODEL_NAMES } from '../projector/projectorSchema.ts';
import { createProjector } from '../projector/readModelRunners.ts';
import type { RebuildResult } from '../projector/rebuild.ts';
import { stderrLogger } from '../relay/kafkaConnection.ts';
import { audited, cliActor } from './cliAudit.ts';
import { json, runIncidentCommand, UsageError, type CommandIo } from './incidentCommand.ts';
import { callService, type LedgerAccess } from './ledgerAccess.ts';
import { runKafkaProjectors } from './kafkaProjectors.ts';
import { openDatabaseForCli } from './openForCli.ts';

const USAGE = `Usage:
  ledger projections status [--json]       position, lag (events, seconds) and parked events per read model
  ledger projections rebuild <crm|support|app>   replay from position 0 into new tables, then swap
  ledger projections run [--once]          run the projectors in this process (LEDGER_PROJECTOR=off on the service);
                                           PROJECTOR_SOURCE=kafka: join the Kafka consumer group instead
`;

export type ProjectionsArgs = { action: 'status'; json: boolean } | { action: 'rebuild'; name: string };

export function parse(args: string[]): ProjectionsArgs {
  const [action, ...rest] = args;
  if (action === 'status') {
    const unknown = rest.find((arg) => arg !== '--json');
    if (unknown !== undefined) throw new UsageError(`unknown option '${unknown}'`);
    return { action, json: rest.includes('--json') };
  }
  if (action === 'rebuild') {
    if (rest.length !== 1) throw new UsageError('name one read model to rebuild');
    return { action, name: parseWith(ProjectionParams, { name: rest[0] }).name };
  }
  throw new UsageError(`unknown action '${action ?? ''}'`);
}

export async function run(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action === 'status' || action === 'rebuild') return runIncidentCommand(USAGE, () => parse(args), execute);
  if (action !== 'run' || rest.some((arg) => arg !== '--once')) {
    process.stderr.write(USAGE);
    return 2;
  }
  // The projectors run beside the store: never through the service that already runs its own.
  const { db, config } = await openDatabaseForCli();
  try {
    if (config.projectorSource === 'kafka') return await runKafkaProjectors(db, config, rest);
    const projector = createProjector(db, config, stderrLogger);
    if (rest.includes('--once')) {
      let [applied, parked] = [0, 0];
      projector.onCommitted((_name, result) => {
        applied += result.applied;
        parked += result.parked;
      });
      await projector.catchUp();
      // Applied and parked count once per read model.
      process.stdout.write(`applied ${applied} events, parked ${parked}${parked > 0 ? ' (`ledger parked list` shows why)' : ''}\n`);
      return 0;
    }
    await projector.start();
    process.stdout.write(`projectors running (${READ_MODEL_NAMES.join(', ')}); SIGTERM stops them after the batch in flight\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    await projector.stop();
    return 0;
  } finally {
    await db.close();
  }
}

// status and rebuild: directly, or through the admin API while the service holds the store.
export async function execute(access: LedgerAccess, args: ProjectionsArgs, io: CommandIo): Promise<number> {
  if (args.action === 'status') {
    const status =
      access.kind === 'remote'
        ? await callService<ProjectionsReport>(access, 'GET', '/admin/projections')
        : await projectionsStatus(access.db.sql, access.config);
    io.out(args.json ? json(status) : renderStatus(status));
    return 0;
  }
  const { name } = args;
  let result: RebuildResult;
  if (access.kind === 'remote') {
    io.err(`${name}: rebuilding through the service at ${access.url}…\n`);
    result = await callService<RebuildResult>(access, 'POST', `/admin/projections/${name}/rebuild`);
  } else {
    const { db, config } = access;
    result = await audited(db.sql, { actor: cliActor(), command: 'ledger projections rebuild', target: name }, () =>
      rebuildProjection(db, config, name, (events) => io.err(`\r${name}: ${events} events replayed`)),
    );
    io.err('\n');
  }
  const parked = result.parked > 0 ? `; ${result.parked} parked (\`ledger parked list --projection ${name}\` shows why)` : '';
  io.out(
    `${name}: rebuilt from ${result.events} events in ${result.seconds.toFixed(1)} s (${Math.round(result.events / Math.max(result.seconds, 0.001))} events/s), swapped at position ${result.position}${parked}\n`,
  );
  return 0;
}

function renderStatus(status: ProjectionsReport): string {
  const lines = status.projections.map(
    (p) =>
      `${p.name.padEnd(8)} position ${p.position.padStart(16)}  lag ${String(p.lagEvents).padStart(7)} events ${p.lagSeconds.toFixed(1).padStart(8)} s  parked ${p.parked}\n`,
  );
  if (status.fenceHeldEvents > 0) lines.push(`${status.fenceHeldEvents} committed events wait behind an older open transaction (xmin fence)\n`);
  const { kafka } = status;
  if (kafka) {
    lines.push(`from Kafka topic ${kafka.topic} as group ${kafka.groupId}; one transaction applies all read models, so they lag together\n`);
    lines.push(`relay    position ${kafka.relayPosition.padStart(16)}  not yet produced ${String(kafka.relayBacklog).padStart(7)} events ${kafka.relayLagSeconds.toFixed(1).padStart(8)} s\n`);
    for (const p of kafka.partitions) {
      lines.push(
        `partition ${String(p.partition).padStart(3)}  applied offset ${p.appliedOffset.padStart(10)} of ${p.highOffset.padStart(10)}  lag ${String(p.lagMessages).padStart(7)} messages ${p.lagSeconds.toFixed(1).padStart(8)} s\n`,
      );
    }
  }
  return lines.join('');
}
