import { parseArgs } from 'node:util';
import { LedgerError } from '../../domain/errors.ts';
import { isCorrelationId } from '../telemetry/correlationId.ts';
import { correlationTrail, type CorrelationTrail, type TrailEntry } from '../telemetry/correlationTrail.ts';
import { json, runIncidentCommand, UsageError, type CommandIo } from './incidentCommand.ts';
import { callService, type LedgerAccess } from './ledgerAccess.ts';
import { renderPairs, renderTable, type Color, type Column } from './terminalTable.ts';

const USAGE = `Usage: ledger trace <correlation id> [--json]

  <correlation id>  the X-Correlation-Id a webhook or API answer carried (also in every log line)
  --json            the trail as JSON (the admin API's shape), for scripts

Every delivery, fact, decision and read-model update carrying the id, in time order, with the
time since the first and the W3C trace id to open in Jaeger; then whether each read model and
the Kafka relay has passed the last event.
`;

export interface TraceArgs {
  correlationId: string;
  json: boolean;
}

export function parse(args: string[]): TraceArgs {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError('name one correlation id');
  const [correlationId] = positionals;
  if (!isCorrelationId(correlationId)) throw new UsageError('a correlation id is 1-128 characters of A-Z a-z 0-9 . _ : -');
  return { correlationId, json: values.json };
}

export const run = (args: string[]): Promise<number> => runIncidentCommand(USAGE, () => parse(args), execute);

export async function execute(access: LedgerAccess, args: TraceArgs, io: CommandIo): Promise<number> {
  const trail = await fetchTrail(access, args.correlationId);
  if (trail.entries.length === 0) throw new LedgerError('LEDGER_NOT_FOUND', `nothing kept carries correlation id ${args.correlationId}`);
  io.out(args.json ? json(trail) : renderTrail(trail, io.color));
  return 0;
}

export async function fetchTrail(access: LedgerAccess, correlationId: string): Promise<CorrelationTrail> {
  if (access.kind === 'remote') return callService<CorrelationTrail>(access, 'GET', `/admin/trace/${encodeURIComponent(correlationId)}`);
  return correlationTrail(access.db.sql, correlationId);
}

interface Row {
  entry: TrailEntry;
  offsetMs: number;
}

const what = (entry: TrailEntry): string => {
  switch (entry.kind) {
    case 'delivery':
      return `${entry.source} delivery kept in inbox #${entry.inboxId}: ${entry.outcome}${entry.matchedAt ? `, matched ${entry.matchedAt}` : ''}${
        entry.waitingFor.length > 0 ? ', waiting for its customer (below)' : ''
      }`;
    case 'fact':
    case 'decision':
      return `${entry.type}${entry.detail ? ` ${entry.detail}` : ''}`;
    case 'projection':
      return `${entry.readModel} read model changed`;
    case 'parked':
      return `${entry.readModel} PARKED (${entry.reason}, ${entry.status})${entry.error ? `: ${entry.error}` : ''}`;
    default: {
      const unknown: never = entry;
      return String(unknown);
    }
  }
};

const where = (entry: TrailEntry): string => {
  switch (entry.kind) {
    case 'delivery':
      return entry.sourceEventIds.join(', ');
    case 'fact':
    case 'decision':
      return `${entry.customerId} v${entry.version} @${entry.position}${entry.sourceEventId ? ` ${entry.sourceEventId}` : ''}`;
    case 'projection':
    case 'parked':
      return `${entry.customerId} @${entry.position}`;
    default: {
      const unknown: never = entry;
      return String(unknown);
    }
  }
};

const colorOf = (entry: TrailEntry): Color | undefined =>
  entry.kind === 'parked' ? 'red' : entry.kind === 'decision' ? 'yellow' : entry.kind === 'projection' ? 'green' : undefined;

const columns: Column<Row>[] = [
  { header: 'at (UTC)', cell: (r) => r.entry.at.replace('T', ' ').replace('Z', ''), color: () => 'gray' },
  { header: '+ms', cell: (r) => String(r.offsetMs), align: 'right' },
  { header: 'kind', cell: (r) => r.entry.kind },
  { header: 'what', cell: (r) => what(r.entry), color: (r) => colorOf(r.entry), maxWidth: 80 },
  { header: 'where', cell: (r) => where(r.entry), maxWidth: 80 },
];

// Past the chain's last event is not applied when it parked one of them on the way.
function consumerState(c: CorrelationTrail['consumers'][number]): [string, Color] {
  if (!c.caughtUp) return [`pending (at ${c.position})`, 'yellow'];
  if (c.parked > 0) return [`passed, ${c.parked} of these events PARKED (at ${c.position}; \`ledger parked list\`)`, 'red'];
  return [`applied (at ${c.position})`, 'green'];
}

export function renderTrail(trail: CorrelationTrail, color: boolean): string {
  const start = Date.parse(trail.entries[0]?.at ?? '');
  const rows = trail.entries.map((entry) => ({ entry, offsetMs: Date.parse(entry.at) - start }));
  const head = renderPairs(
    [
      ['correlation id', trail.correlationId],
      ['trace id', trail.traceIds.join(', ') || '(none recorded)'],
    ],
    { color },
  );
  const consumers = trail.consumers.map((c): [string, string, Color] => [`${c.kind === 'relay' ? 'relay' : 'read model'} ${c.name}`, ...consumerState(c)]);
  // In full, never cut to the table's width: what an engineer links by hand, or looks for.
  const waiting = trail.entries.flatMap((entry): [string, string, Color][] =>
    entry.kind === 'delivery' && entry.waitingFor.length > 0 ? [[`inbox #${entry.inboxId} waits for`, entry.waitingFor.join(', '), 'yellow']] : [],
  );
  const pairs = [...waiting, ...consumers];
  const tail = pairs.length > 0 ? `\n${renderPairs(pairs, { color })}` : '';
  return `${head}\n${renderTable(rows, columns, { color })}${tail}`;
}
