import { parseArgs } from 'node:util';
import { existingCustomerId, customerRefOf } from '../operations/customerLookup.ts';
import { loadTimeline, type Timeline, type TimelineEntry } from '../operations/timeline.ts';
import { json, runIncidentCommand, shortTime, UsageError, type CommandIo } from './incidentCommand.ts';
import { callService, type LedgerAccess } from './ledgerAccess.ts';
import { LIFECYCLE_COLORS, paint, renderTable, type Color, type Column } from './terminalTable.ts';

const USAGE = `Usage: ledger events <customer> [--json]

  <customer>  cust_…, stripe:cus_…, crm:<id>, support:<id>, app:<id>, email:<address> or a bare e-mail
  --json      the timeline as JSON (the admin API's shape), for scripts

Facts and the decisions they caused, in stream order, with the lifecycle state after each.
`;

export interface EventsArgs {
  ref: string;
  json: boolean;
}

export function parse(args: string[]): EventsArgs {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError('name one customer');
  return { ref: customerRefOf(positionals[0]!), json: values.json };
}

export const run = (args: string[]): Promise<number> => runIncidentCommand(USAGE, () => parse(args), execute);

export async function execute(access: LedgerAccess, args: EventsArgs, io: CommandIo): Promise<number> {
  const timeline = await fetchTimeline(access, args.ref);
  io.out(args.json ? json(timeline) : renderTimeline(timeline, io.color));
  return 0;
}

export async function fetchTimeline(access: LedgerAccess, ref: string): Promise<Timeline> {
  if (access.kind === 'remote') return callService<Timeline>(access, 'GET', `/admin/customers/${encodeURIComponent(ref)}/timeline`);
  return loadTimeline(access.db.store, await existingCustomerId(access.db.store, ref));
}

const columns: Column<TimelineEntry>[] = [
  { header: '#', cell: (e) => String(e.version), align: 'right' },
  { header: 'occurred (UTC)', cell: (e) => shortTime(e.occurredAt) },
  { header: 'recorded (UTC)', cell: (e) => shortTime(e.recordedAt), color: () => 'gray' },
  // With the provider's type of the source event where it was recorded (`stripe invoice.paid`).
  { header: 'source', cell: (e) => (e.sourceType === null ? e.source : `${e.source} ${e.sourceType}`), maxWidth: 44 },
  { header: 'source event', cell: (e) => e.sourceEventId ?? '', maxWidth: 40 },
  { header: 'event', cell: (e) => e.type, color: eventColor },
  { header: 'summary', cell: (e) => e.summary, maxWidth: 72 },
  { header: 'correlation', cell: (e) => e.correlationId, color: () => 'gray', maxWidth: 40 },
  { header: 'state after', cell: (e) => e.lifecycleAfter, color: (e) => LIFECYCLE_COLORS[e.lifecycleAfter] },
];

function eventColor(entry: TimelineEntry): Color | undefined {
  if (entry.kind === 'fact') return undefined;
  if (entry.type === 'FlaggedForReview') return 'red';
  if (entry.type === 'ManualOverrideApplied' || entry.type === 'ReviewResolved') return 'magenta';
  return 'yellow';
}

export function renderTimeline(timeline: Timeline, color: boolean): string {
  const identities = timeline.identities.map((i) => `${i.kind}:${i.externalId}`).join(', ');
  const head = `${paint(timeline.customerId, 'bold', color)}  ${paint(timeline.lifecycle, LIFECYCLE_COLORS[timeline.lifecycle], color)}  version ${timeline.version}${
    identities ? `  ${identities}` : ''
  }\n\n`;
  return head + renderTable(timeline.entries, columns, { color });
}
