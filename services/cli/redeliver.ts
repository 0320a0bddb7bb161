import { parseArgs } from 'node:util';
import { RedeliveryReport, RedeliveryRequest } from '../../contracts/api/redelivery.ts';
import { parseWith } from '../../contracts/parseBody.ts';
import { LedgerError } from '../../domain/errors.ts';
import { redeliver, redeliveryTarget, todaysSources } from '../operations/redeliver.ts';
import { audited, cliActor } from './cliAudit.ts';
import { callService, ledgerAccess } from './ledgerAccess.ts';
import { sinceArgument } from './timeArgument.ts';

const USAGE = `Usage:
  ledger redeliver <inbox id> [--json]
  ledger redeliver --since <ISO time | 90m | 6h | 2d> [--source stripe|crm|support] [--limit N] [--after <inbox id>] [--json]

Re-processes kept webhook deliveries through today's translators (after a mapper fix, or once an
unmatched fact's customer exists). Facts already recorded are reported as duplicates; running it
twice appends nothing the second time. Exit 1 if a delivery failed.
`;

export async function run(args: string[]): Promise<number> {
  let request: RedeliveryRequest;
  let json: boolean;
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        since: { type: 'string' },
        source: { type: 'string' },
        limit: { type: 'string' },
        after: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    json = values.json;
    request = parseWith(RedeliveryRequest, {
      ...(positionals[0] !== undefined ? { inboxId: positionals[0] } : {}),
      ...(values.since !== undefined ? { since: sinceArgument(values.since) } : {}),
      ...(values.source !== undefined ? { source: values.source } : {}),
      ...(values.after !== undefined ? { after: values.after } : {}),
      ...(values.limit !== undefined ? { limit: Number(values.limit) } : {}),
    });
    if (positionals.length > 1) throw new LedgerError('LEDGER_VALIDATION', 'one inbox id at a time');
  } catch (error) {
    process.stderr.write(`ledger redeliver: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }

  const access = await ledgerAccess();
  let report: RedeliveryReport;
  try {
    if (access.kind === 'remote') {
      report = parseWith(RedeliveryReport, await callService(access, 'POST', '/admin/redeliveries', request));
    } else {
      const progress = process.stderr.isTTY ? (done: number, total: number) => process.stderr.write(`\rredelivered ${done}/${total}`) : undefined;
      const { db, config } = access;
      report = await audited(db.sql, { actor: cliActor(), command: 'ledger redeliver', target: redeliveryTarget(request) }, () =>
        redeliver({ store: db.store, sql: db.sql, now: () => new Date() }, todaysSources(config), request, progress),
      );
      if (progress) process.stderr.write('\n');
    }
  } finally {
    await access.close();
  }

  process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : describeReport(report));
  if (report.truncated) {
    // The same window, continued: --since stays as given (an age would have moved on since).
    const again = ['ledger redeliver', '--since', request.since, ...(request.source ? ['--source', request.source] : []), ...(request.limit ? ['--limit', String(request.limit)] : []), '--after', report.next];
    process.stderr.write(`ledger redeliver: more deliveries match than --limit; the first ${report.deliveries.length} were processed. Continue with: ${again.join(' ')}\n`);
  }
  return report.totals.failed > 0 ? 1 : 0;
}

export function describeReport(report: RedeliveryReport): string {
  const lines: string[] = [];
  for (const d of report.deliveries) {
    const head = `inbox ${d.inboxId.padStart(6)}  ${d.source.padEnd(7)}  ${d.receivedAt}  was ${d.originalOutcome}`;
    if (d.status === 'failed') {
      lines.push(`${head}  -> FAILED ${d.error?.code ?? ''}: ${d.error?.message ?? ''}`);
      continue;
    }
    const appended = d.facts.filter((f) => f.outcome === 'appended').length;
    lines.push(`${head}  -> ${appended} appended, ${d.facts.length - appended} not`);
    for (const f of d.facts) lines.push(`    ${f.outcome.padEnd(9)}  ${f.type.padEnd(24)}  ${f.sourceEventId}${f.customerId ? `  ${f.customerId}` : ''}`);
    for (const i of d.ignored) lines.push(`    ${'ignored'.padEnd(9)}  ${i.reason}  ${i.sourceEventId}`);
  }
  const t = report.totals;
  lines.push(`${t.deliveries} deliveries: ${t.appended} facts appended, ${t.duplicate} duplicate, ${t.unmatched} unmatched, ${t.ignored} ignored, ${t.failed} failed`);
  return `${lines.join('\n')}\n`;
}
