import { parseArgs } from 'node:util';
import { StateQuery, type PointInTime } from '../../contracts/api/adminApi.ts';
import { parseWith } from '../../contracts/parseBody.ts';
import { LedgerError } from '../../domain/errors.ts';
import { readModelOptionsFrom } from '../../projections/readModels.ts';
import { streamIdOf } from '../commands/customerIds.ts';
import { money } from '../operations/eventSummary.ts';
import { customerRefOf, existingCustomerId } from '../operations/customerLookup.ts';
import { stateAt, type StateAt } from '../operations/stateAt.ts';
import { json, runIncidentCommand, shortTime, UsageError, type CommandIo } from './incidentCommand.ts';
import { callService, type LedgerAccess } from './ledgerAccess.ts';
import { LIFECYCLE_COLORS, paint, renderPairs, type Color } from './terminalTable.ts';

const USAGE = `Usage: ledger state <customer> [--at <version | ISO time>] [--json]

  --at 12                     as of stream version 12
  --at 2026-03-01T12:00:00Z   as of the last event recorded at or before that time
  --json                      the state and views as JSON

The customer's state and its CRM, support and app views as of that moment, folded from the
stream (the read-model tables are not consulted).
`;

export interface StateArgs {
  ref: string;
  at: PointInTime | undefined;
  rawAt: string | undefined;
  json: boolean;
}

export function parse(args: string[]): StateArgs {
  const { values, positionals } = parseArgs({
    args,
    options: { at: { type: 'string' }, json: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new UsageError('name one customer');
  return { ref: customerRefOf(positionals[0]!), at: pointInTime(values.at), rawAt: values.at, json: values.json };
}

function pointInTime(raw: string | undefined): PointInTime | undefined {
  try {
    return parseWith(StateQuery, raw === undefined ? {} : { at: raw }).at;
  } catch (error) {
    if (!(error instanceof LedgerError)) throw error;
    // The contract's own message ("at: Invalid input") does not say which forms it takes.
    throw new LedgerError('LEDGER_VALIDATION', `--at ${raw}: give a stream version (12) or an ISO 8601 time with its offset (2026-03-01T12:00:00Z)`);
  }
}

export const run = (args: string[]): Promise<number> => runIncidentCommand(USAGE, () => parse(args), execute);

export async function execute(access: LedgerAccess, args: StateArgs, io: CommandIo): Promise<number> {
  const result = await fetchState(access, args);
  io.out(args.json ? json(result) : renderState(result, io.color));
  return 0;
}

async function fetchState(access: LedgerAccess, args: StateArgs): Promise<StateAt> {
  if (access.kind === 'remote') {
    const query = args.rawAt === undefined ? '' : `?at=${encodeURIComponent(args.rawAt)}`;
    return callService<StateAt>(access, 'GET', `/admin/customers/${encodeURIComponent(args.ref)}/state${query}`);
  }
  const { store } = access.db;
  const customerId = await existingCustomerId(store, args.ref);
  return stateAt(customerId, await store.readStream(streamIdOf(customerId)), args.at, readModelOptionsFrom(access.config.projections));
}

export function renderState(result: StateAt, color: boolean): string {
  const { state, asOf } = result;
  const title = `${paint(result.customerId, 'bold', color)} as of version ${asOf.version}, recorded ${shortTime(asOf.recordedAt)} UTC${
    result.requested === null ? ' (now)' : ` (asked: ${result.requested})`
  }\n\n`;
  const mrr = state.mrrCents === null || state.currency === null ? '' : money(state.mrrCents, state.currency);
  const pairs: [string, string, Color?][] = [
    ['lifecycle', state.lifecycle, LIFECYCLE_COLORS[state.lifecycle]],
    ['since', shortTime(state.since)],
    ['review', state.review === null ? '' : `${state.review.reason} (flagged from ${state.review.from} at ${shortTime(state.review.flaggedAt)})`, 'red'],
    ['plan', state.plan === null ? '' : `${state.plan.nickname ?? state.plan.priceId} (${state.plan.priceId})`],
    ['subscription', [state.subscriptionId, state.subscriptionStatus].filter(Boolean).join(' ')],
    // The others held or ended beside the current one (a plan and its add-on).
    [
      'also',
      Object.entries(state.subscriptions ?? {})
        .filter(([id]) => id !== state.subscriptionId)
        .map(([id, s]) => `${id} ${s.status}${s.mrrCents === null || s.currency === null ? '' : ` ${money(s.mrrCents, s.currency)}`}`)
        .join(', '),
    ],
    ['mrr', mrr],
    ['trial ends', shortTime(state.trialEndsAt)],
    ['last payment', state.lastPayment === null ? '' : `${state.lastPayment.outcome} ${money(state.lastPayment.amountCents, state.lastPayment.currency)} at ${shortTime(state.lastPayment.occurredAt)}`],
    ['last refund', state.lastRefund === null ? '' : `${money(state.lastRefund.refundedAmountCents, state.lastRefund.currency)} of ${money(state.lastRefund.chargeAmountCents, state.lastRefund.currency)}${state.lastRefund.full ? ' (full)' : ''}`],
    ['email', state.profile.email ?? ''],
    ['name', [state.profile.firstName, state.profile.lastName].filter(Boolean).join(' ')],
    ['identities', state.identities.map((i) => `${i.kind}:${i.externalId}`).join(', ')],
    ['open tickets', state.openTicketIds.join(', ')],
    ['deleted in', state.deletedIn.join(', ')],
  ];
  const views = (['crm', 'support', 'app'] as const).map((name) => `\n${paint(`${name} view`, 'bold', color)}\n${renderView(result.views[name], color)}`);
  return title + unreadableWarning(result, color) + renderPairs(pairs.filter(([, value]) => value !== ''), { color }) + views.join('');
}

// Left out of the fold (as a projector parks them), so the state shown may be wrong: `--json`
// lists them, and the text must not read as if nothing were missing.
function unreadableWarning(result: StateAt, color: boolean): string {
  const { unreadable } = result;
  if (unreadable.length === 0) return '';
  const one = unreadable.length === 1;
  const warning = `warning: ${one ? 'version' : 'versions'} ${unreadable.join(', ')} ${one ? 'is' : 'are'} unreadable to this build and left out of this state and the views; \`ledger events ${result.customerId}\` shows ${one ? 'it' : 'them'}`;
  return `${paint(warning, 'red', color)}\n\n`;
}

function renderView(view: unknown, color: boolean): string {
  if (typeof view !== 'object' || view === null) return '  (none yet)\n';
  const pairs = Object.entries(view)
    .filter(([key]) => key !== 'customerId')
    .map(([key, value]): [string, string] => [`  ${key}`, typeof value === 'string' ? value : JSON.stringify(value)]);
  return renderPairs(pairs, { color });
}
