import { parseArgs } from 'node:util';
import { unmatchedReport, type UnmatchedReport, type WaitingDelivery } from '../operations/unmatchedDeliveries.ts';
import { json, runIncidentCommand, shortTime, UsageError, type CommandIo } from './incidentCommand.ts';
import { callService, type LedgerAccess } from './ledgerAccess.ts';
import { renderTable, type Column } from './terminalTable.ts';

const USAGE = `Usage: ledger unmatched [--json]

  --json  the report as JSON (the admin API's shape), for scripts

Deliveries still waiting for a customer (a refund before the invoice that claims its charge, a
CRM deletion before the creation), oldest first: what each waits for, and when the service tries
it next. The delivery that brings one of those ids wakes it at once; past the retry window,
\`ledger redeliver <inbox id>\` once its customer exists.
`;

export interface UnmatchedArgs {
  json: boolean;
}

export function parse(args: string[]): UnmatchedArgs {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, allowPositionals: true });
  if (positionals.length > 0) throw new UsageError('ledger unmatched takes no arguments');
  return { json: values.json };
}

export const run = (args: string[]): Promise<number> => runIncidentCommand(USAGE, () => parse(args), execute);

export async function execute(access: LedgerAccess, args: UnmatchedArgs, io: CommandIo, now: () => Date = () => new Date()): Promise<number> {
  const report =
    access.kind === 'remote'
      ? await callService<UnmatchedReport>(access, 'GET', '/admin/unmatched')
      : await unmatchedReport(access.db.sql, access.config.inbox.unmatchedRetry, now());
  io.out(args.json ? json(report) : renderReport(report, io.color));
  return 0;
}

const columns: Column<WaitingDelivery>[] = [
  { header: 'inbox', cell: (d) => `#${d.inboxId}`, align: 'right' },
  { header: 'source', cell: (d) => d.source },
  { header: 'received (UTC)', cell: (d) => shortTime(d.receivedAt), color: () => 'gray' },
  { header: 'next try (UTC)', cell: (d) => (d.nextTryAt ? shortTime(d.nextTryAt) : 'past the window'), color: (d) => (d.nextTryAt ? undefined : 'yellow') },
  { header: 'correlation id', cell: (d) => d.correlationId },
  // Last and never cut: what an engineer links by hand, or looks for.
  { header: 'waits for', cell: (d) => d.waitingFor.join(', ') || '(kept before this was recorded)' },
];

export function renderReport(report: UnmatchedReport, color: boolean): string {
  const { intervalSeconds, windowHours } = report.retry;
  if (report.deliveries.length === 0) return `No delivery is waiting for a customer.\n`;
  const past = report.deliveries.filter((d) => d.nextTryAt === null).length;
  const retry =
    intervalSeconds > 0
      ? `Tried again when a delivery brings one of those ids, and on a backoff (${intervalSeconds} s, doubling) for ${windowHours} h.`
      : 'The service does not try them again (LEDGER_UNMATCHED_RETRY_SECONDS=0).';
  const lines = [
    `${report.deliveries.length}${report.truncated ? '+' : ''} waiting for a customer. ${retry}`,
    ...(past > 0
      ? [`${past} past the window: \`ledger redeliver <inbox id>\` once its customer exists (link an id by hand with POST /admin/customers/{ref}/identities).`]
      : []),
  ];
  return `${renderTable(report.deliveries, columns, { color })}\n${lines.join('\n')}\n`;
}
