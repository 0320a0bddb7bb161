import { READ_MODEL_NAMES } from '../projector/projectorSchema.ts';
import { projectionStatus } from '../projector/projectionStatus.ts';
import { createProjector, createRunners } from '../projector/readModelRunners.ts';
import { rebuildReadModel } from '../projector/rebuild.ts';
import { openDatabaseForCli } from './openForCli.ts';

const USAGE = `Usage:
  ledger projections status [--json]       position, lag (events, seconds) and parked events per read model
  ledger projections rebuild <crm|support|app>   replay from position 0 into new tables, then swap
  ledger projections run [--once]          run the projectors in this process (LEDGER_PROJECTOR=off on the service)
`;

export async function run(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'status' && action !== 'rebuild' && action !== 'run') {
    process.stderr.write(USAGE);
    return 2;
  }
  const { db, config } = await openDatabaseForCli();
  try {
    if (action === 'status') {
      const status = await projectionStatus(db.sql, READ_MODEL_NAMES);
      if (rest.includes('--json')) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      else {
        for (const p of status.projections) {
          process.stdout.write(
            `${p.name.padEnd(8)} position ${p.position.padStart(16)}  lag ${String(p.lagEvents).padStart(7)} events ${p.lagSeconds.toFixed(1).padStart(8)} s  parked ${p.parked}\n`,
          );
        }
        if (status.fenceHeldEvents > 0) {
          process.stdout.write(`${status.fenceHeldEvents} committed events wait behind an older open transaction (xmin fence)\n`);
        }
      }
      return 0;
    }
    if (action === 'rebuild') {
      const name = rest[0];
      const runner = createRunners(db, config).get(name as never);
      if (!runner) {
        process.stderr.write(`ledger projections rebuild: unknown read model '${name ?? ''}' (crm, support, app)\n`);
        return 2;
      }
      const result = await rebuildReadModel(db.sql, runner, {
        onProgress: (events) => process.stderr.write(`\r${name}: ${events} events replayed`),
      });
      process.stderr.write('\n');
      process.stdout.write(
        `${name}: rebuilt from ${result.events} events in ${result.seconds.toFixed(1)} s (${Math.round(result.events / result.seconds)} events/s), swapped at position ${result.position}\n`,
      );
      return 0;
    }
    const projector = createProjector(db, config, { warn: (object, message) => process.stderr.write(`${message} ${JSON.stringify(object)}\n`) });
    if (rest.includes('--once')) {
      await projector.catchUp();
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
