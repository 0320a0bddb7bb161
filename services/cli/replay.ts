import { parseArgs } from 'node:util';
import { streamIdOf } from '../commands/customerIds.ts';
import { customerRefOf, existingCustomerId } from '../operations/customerLookup.ts';
import { listCustomers, type CustomersPage } from '../operations/customerStreams.ts';
import { replayCustomer, type CustomerDecider, type ReplayDifference } from '../operations/replay.ts';
import { paged, replayCustomers, type ReplayProgress, type ReplayReport, type ReplaySource } from '../operations/replayAll.ts';
import { recordedEventsOf } from '../operations/timeline.ts';
import { fetchTimeline } from './events.ts';
import { json, runIncidentCommand, shortTime, UsageError, type CommandIo } from './incidentCommand.ts';
import { callService, type LedgerAccess } from './ledgerAccess.ts';
import { paint, renderTable, type Column } from './terminalTable.ts';
import { sinceArgument } from './timeArgument.ts';

const USAGE = `Usage: ledger replay <customer> | --all [--since <ISO time | 90m | 6h | 2d>] [--json]

  <customer>      one customer (cust_…, stripe:cus_…, an e-mail, …)
  --all           every customer (progress on stderr)
  --since <time>  compare only facts recorded at or after this time (earlier ones are folded as recorded)
  --json          the report as JSON

Runs this build's lifecycle rules over the recorded facts (and manual overrides) and lists every
place where today's decision differs from the recorded one. Exit 0: no difference; 1: some;
2: it could not compare (a bad argument, an unknown customer, a store it cannot reach).
`;

export interface ReplayArgs {
  target: { kind: 'all' } | { kind: 'customer'; ref: string };
  since: string | undefined;
  json: boolean;
}

const PAGE = 500;

export function parse(args: string[]): ReplayArgs {
  const { values, positionals } = parseArgs({
    args,
    options: { all: { type: 'boolean', default: false }, since: { type: 'string' }, json: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  if (values.all === (positionals.length > 0) || positionals.length > 1) throw new UsageError('name one customer, or --all');
  return {
    target: values.all ? { kind: 'all' } : { kind: 'customer', ref: customerRefOf(positionals[0]!) },
    // The same forms as `ledger redeliver --since`: an ISO time or an age.
    since: values.since === undefined ? undefined : sinceArgument(values.since),
    json: values.json,
  };
}

export const run = (args: string[]): Promise<number> => runIncidentCommand(USAGE, () => parse(args), (access, parsed, io) => execute(access, parsed, io));

// The decider is a parameter so a test (or a what-if script) can replay an altered rule set.
export async function execute(access: LedgerAccess, args: ReplayArgs, io: CommandIo, decider?: CustomerDecider): Promise<number> {
  const options = { ...(decider ? { decider } : {}), ...(args.since ? { since: args.since } : {}) };
  let report: ReplayReport;
  if (args.target.kind === 'customer') {
    const { customerId, events } = await oneStream(access, args.target.ref);
    const result = replayCustomer(customerId, events, options);
    report = { customers: 1, checked: result.checked, affectedCustomers: result.differences.length ? [customerId] : [], differences: result.differences };
  } else {
    const source = sourceOf(access);
    const progress = progressReporter(io);
    report = await replayCustomers(source, paged((after) => customerPage(access, args.since, after)), { ...options, onProgress: progress.update });
    progress.done(report);
  }
  io.out(args.json ? json(report) : renderReport(report, io.color));
  return report.differences.length > 0 ? 1 : 0;
}

async function oneStream(access: LedgerAccess, ref: string) {
  if (access.kind === 'remote') {
    const timeline = await fetchTimeline(access, ref);
    return { customerId: timeline.customerId, events: recordedEventsOf(timeline) };
  }
  const customerId = await existingCustomerId(access.db.store, ref);
  return { customerId, events: await access.db.store.readStream(streamIdOf(customerId)) };
}

function sourceOf(access: LedgerAccess): ReplaySource {
  if (access.kind === 'remote') return { events: async (customerId) => recordedEventsOf(await fetchTimeline(access, customerId)) };
  return { events: (customerId) => access.db.store.readStream(streamIdOf(customerId)) };
}

function customerPage(access: LedgerAccess, since: string | undefined, after: string | undefined): Promise<CustomersPage> {
  if (access.kind === 'direct') return listCustomers(access.db.sql, { limit: PAGE, ...(since ? { since } : {}), ...(after ? { after } : {}) });
  const query = new URLSearchParams({ limit: String(PAGE), ...(since ? { since } : {}), ...(after ? { after } : {}) });
  return callService<CustomersPage>(access, 'GET', `/admin/customers?${query}`);
}

// Redrawn in place on a terminal (at most ~10 times a second); a line per 1,000 customers in a log.
function progressReporter(io: CommandIo): { update: (progress: ReplayProgress) => void; done: (report: ReplayReport) => void } {
  let lastDraw = 0;
  const line = (p: ReplayProgress) => `replayed ${p.customers} customers, ${p.affected} with differences`;
  return {
    update(progress) {
      if (io.progressInPlace) {
        const now = performance.now();
        if (now - lastDraw < 100) return;
        lastDraw = now;
        io.err(`\r${line(progress)}`);
      } else if (progress.customers % 1000 === 0) {
        io.err(`${line(progress)}\n`);
      }
    },
    done(report) {
      io.err(`${io.progressInPlace ? '\r' : ''}${line({ customers: report.customers, affected: report.affectedCustomers.length })} (${report.checked} inputs compared)\n`);
    },
  };
}

const columns: Column<ReplayDifference>[] = [
  { header: 'customer', cell: (d) => d.customerId },
  { header: '#', cell: (d) => String(d.version), align: 'right' },
  { header: 'recorded (UTC)', cell: (d) => shortTime(d.recordedAt), color: () => 'gray' },
  { header: 'input', cell: (d) => d.input },
  { header: 'source event', cell: (d) => d.sourceEventId ?? '', maxWidth: 40 },
  { header: 'recorded decision', cell: (d) => d.recorded.join('; ') || '(none)', color: () => 'yellow' },
  { header: "today's decision", cell: (d) => d.today.join('; ') || '(none)', color: () => 'cyan' },
];

export function renderReport(report: ReplayReport, color: boolean): string {
  const summary = `${report.customers} customer${report.customers === 1 ? '' : 's'}, ${report.checked} inputs compared: `;
  if (report.differences.length === 0) return `${summary}${paint("no difference from today's rules", 'green', color)}\n`;
  const affected = `${report.differences.length} difference${report.differences.length === 1 ? '' : 's'} in ${report.affectedCustomers.length} customer${
    report.affectedCustomers.length === 1 ? '' : 's'
  }`;
  return `${renderTable(report.differences, columns, { color })}\n${summary}${paint(affected, 'red', color)}\n`;
}
