import { parseArgs } from 'node:util';
import { ParkedIdParams, ParkedQuery, ParkedRetryRequest, ParkedSkipRequest } from '../../contracts/api/adminApi.ts';
import { parseWith } from '../../contracts/parseBody.ts';
import { listParkedEvents, retryParked, skipParkedEvent, type DrainOutcome } from '../operations/parkedOperations.ts';
import type { ParkedEvent } from '../projector/parkedEvents.ts';
import { audited, cliActor } from './cliAudit.ts';
import { json, runIncidentCommand, shortTime, UsageError, type CommandIo } from './incidentCommand.ts';
import { callService, type LedgerAccess } from './ledgerAccess.ts';
import { renderTable, type Column } from './terminalTable.ts';

const USAGE = `Usage:
  ledger parked list [--projection crm|support|app] [--status parked|retried|skipped] [--json]
  ledger parked retry <id…> | --all      drain each event's customer in order; exit 1 if any fails again
  ledger parked skip <id> --reason <text>  never apply this event; drain what it held back

Every retry and skip is audited: as LEDGER_ACTOR (or your OS user) when run against the store
directly, as the API key's principal when run through the service.
`;

export type ParkedArgs =
  | { action: 'list'; projection: string | undefined; status: 'parked' | 'retried' | 'skipped'; json: boolean }
  | { action: 'retry'; request: { ids: string[] } | { all: true }; json: boolean }
  | { action: 'skip'; id: string; reason: string; json: boolean };

export function parse(args: string[]): ParkedArgs {
  const [action, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      projection: { type: 'string' },
      status: { type: 'string' },
      all: { type: 'boolean', default: false },
      reason: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  switch (action) {
    case 'list': {
      const query = parseWith(ParkedQuery, { projection: values.projection, status: values.status });
      return { action, projection: query.projection, status: query.status, json: values.json };
    }
    case 'retry': {
      if (values.all === (positionals.length > 0)) throw new UsageError('name parked event ids, or --all');
      return { action, request: parseWith(ParkedRetryRequest, values.all ? { all: true } : { ids: positionals }), json: values.json };
    }
    case 'skip': {
      if (positionals.length !== 1) throw new UsageError('name one parked event id');
      const { id } = parseWith(ParkedIdParams, { id: positionals[0] });
      const { reason } = parseWith(ParkedSkipRequest, { reason: values.reason ?? '' });
      return { action, id, reason, json: values.json };
    }
    default:
      throw new UsageError(`unknown action '${action ?? ''}'`);
  }
}

export const run = (args: string[]): Promise<number> => runIncidentCommand(USAGE, () => parse(args), execute);

export async function execute(access: LedgerAccess, args: ParkedArgs, io: CommandIo): Promise<number> {
  switch (args.action) {
    case 'list': {
      const result = await list(access, args);
      io.out(args.json ? json(result) : result.parked.length === 0 ? `no ${args.status} events\n` : renderTable(result.parked, parkedColumns, { color: io.color }));
      return 0;
    }
    case 'retry':
    case 'skip': {
      const result = await change(access, args);
      io.out(args.json ? json(result) : renderDrained(result.drained));
      return result.drained.some((d) => d.stillParked > 0) ? 1 : 0;
    }
    default: {
      const unhandled: never = args;
      throw new UsageError(`unknown action ${JSON.stringify(unhandled)}`);
    }
  }
}

function list(access: LedgerAccess, args: Extract<ParkedArgs, { action: 'list' }>): Promise<{ parked: ParkedEvent[] }> {
  if (access.kind === 'direct') return listParkedEvents(access.db.sql, { status: args.status, ...(args.projection ? { projection: args.projection } : {}) });
  const query = new URLSearchParams({ status: args.status, ...(args.projection ? { projection: args.projection } : {}) });
  return callService(access, 'GET', `/admin/parked?${query}`);
}

function change(access: LedgerAccess, args: Extract<ParkedArgs, { action: 'retry' | 'skip' }>): Promise<{ drained: DrainOutcome[] }> {
  if (access.kind === 'remote') {
    return args.action === 'retry'
      ? callService(access, 'POST', '/admin/parked/retry', args.request)
      : callService(access, 'POST', `/admin/parked/${args.id}/skip`, { reason: args.reason });
  }
  const { db, config } = access;
  const actor = cliActor();
  if (args.action === 'retry') {
    const target = 'all' in args.request ? 'all' : args.request.ids.join(',');
    return audited(db.sql, { actor, command: 'ledger parked retry', target }, () => retryParked(db, config, args.request, actor));
  }
  return audited(db.sql, { actor, command: 'ledger parked skip', target: args.id, reason: args.reason }, () => skipParkedEvent(db, config, args.id, actor, args.reason));
}

const parkedColumns: Column<ParkedEvent>[] = [
  { header: 'id', cell: (p) => p.id, align: 'right' },
  { header: 'projection', cell: (p) => p.projection },
  { header: 'customer', cell: (p) => p.customerId },
  { header: 'position', cell: (p) => p.position, align: 'right' },
  { header: 'reason', cell: (p) => p.reason, color: (p) => (p.reason === 'failed' ? 'red' : 'yellow') },
  { header: 'attempts', cell: (p) => String(p.attempts), align: 'right' },
  { header: 'parked (UTC)', cell: (p) => shortTime(p.parkedAt), color: () => 'gray' },
  { header: 'error', cell: (p) => p.error ?? '', maxWidth: 80 },
];

function renderDrained(drained: DrainOutcome[]): string {
  if (drained.length === 0) return 'nothing was parked\n';
  return drained.map((d) => `${d.projection} ${d.customerId}: applied ${d.applied}, still parked ${d.stillParked}\n`).join('');
}
