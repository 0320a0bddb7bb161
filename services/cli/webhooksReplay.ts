import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { CAPTURED_SOURCES, type CapturedSource } from '../../contracts/inbound/capturedDelivery.ts';
import { LedgerError } from '../../domain/errors.ts';
import { readCapture, replayDeliveries, type ReplaySummary } from '../operations/webhookReplay.ts';
import { CliError } from './cliError.ts';

const USAGE = `Usage:
  ledger webhooks replay <file.ndjson> --to <base url> --secret-env <VAR | source=VAR>…
                         [--source stripe|crm|support] [--concurrency N] [--json]

Each line is a captured delivery {"source", "body", "headers"} or a provider body alone. Every
delivery is re-signed now, as its provider signs (Stripe t=,v1=; HubSpot v3; Zendesk), with the
secret in the named environment variable, and POSTed to <base url>/webhooks/<source>.
--secret-env VAR signs every source with VAR; repeat as stripe=VAR, crm=VAR, support=VAR for a
file that mixes sources. Exit 1 unless every delivery is answered 2xx.
`;

const isSource = (value: string): value is CapturedSource => (CAPTURED_SOURCES as readonly string[]).includes(value);

export async function run(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'replay') {
    process.stderr.write(USAGE);
    return 2;
  }
  let options;
  try {
    options = optionsOf(rest);
  } catch (error) {
    if (!(error instanceof CliError || error instanceof TypeError)) throw error;
    process.stderr.write(`ledger webhooks replay: ${error.message}\n\n${USAGE}`);
    return 2;
  }

  let text: string;
  try {
    text = await readFile(options.file, 'utf8');
  } catch {
    throw new CliError(`cannot read ${options.file}`);
  }
  let deliveries;
  try {
    deliveries = readCapture(text, options.source);
  } catch (error) {
    if (error instanceof LedgerError) throw new CliError(`${options.file} ${error.message}`);
    throw error;
  }
  const missing = [...new Set(deliveries.map((d) => d.source))].filter((source) => options.secrets[source] === undefined);
  if (missing.length > 0) throw new CliError(`no secret for ${missing.join(', ')} deliveries: pass --secret-env ${missing[0]}=VAR`);

  const summary = await replayDeliveries(deliveries, { to: options.to, secrets: options.secrets, concurrency: options.concurrency });
  process.stdout.write(options.json ? `${JSON.stringify(summary, null, 2)}\n` : describeSummary(summary, options.to));
  return summary.failures.length === 0 ? 0 : 1;
}

function optionsOf(args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      to: { type: 'string' },
      'secret-env': { type: 'string', multiple: true },
      source: { type: 'string' },
      concurrency: { type: 'string', default: '4' },
      json: { type: 'boolean', default: false },
    },
  });
  const [file, ...extra] = positionals;
  if (!file || extra.length > 0) throw new CliError('give one capture file');
  if (!values.to || !URL.canParse(values.to) || !/^https?:$/.test(new URL(values.to).protocol)) throw new CliError('--to must be an http(s) URL');
  if (values.source !== undefined && !isSource(values.source)) throw new CliError(`--source must be one of ${CAPTURED_SOURCES.join(', ')}`);
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new CliError('--concurrency must be an integer from 1 to 256');
  return {
    file,
    to: new URL(values.to),
    source: values.source,
    concurrency,
    json: values.json,
    secrets: secretsOf(values['secret-env'] ?? []),
  };
}

// The secret values themselves never appear on the command line (shell history, ps): only the
// names of the variables that hold them.
function secretsOf(specs: string[]): Partial<Record<CapturedSource, string>> {
  if (specs.length === 0) throw new CliError('--secret-env is required');
  const secrets: Partial<Record<CapturedSource, string>> = {};
  for (const spec of specs) {
    const [scope, variable] = spec.includes('=') ? spec.split('=', 2) : [undefined, spec];
    if (!variable) throw new CliError(`--secret-env ${spec}: name a variable`);
    const raw = process.env[variable]?.trim();
    if (!raw) throw new CliError(`--secret-env: ${variable} is not set`);
    // STRIPE_WEBHOOK_SECRET may list several during a rotation: sign with the first.
    const secret = raw.split(',')[0]!.trim();
    if (scope === undefined) for (const source of CAPTURED_SOURCES) secrets[source] ??= secret;
    else if (isSource(scope)) secrets[scope] = secret;
    else throw new CliError(`--secret-env ${spec}: ${scope} is not one of ${CAPTURED_SOURCES.join(', ')}`);
  }
  return secrets;
}

export function describeSummary(summary: ReplaySummary, to: URL): string {
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  const ok = Math.round(summary.successRate * summary.sent);
  const lines = [
    `replayed ${summary.sent} deliveries to ${to.origin} in ${summary.seconds.toFixed(1)} s`,
    ...Object.entries(summary.byStatus)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([status, count]) => `  ${status.padEnd(5)} ${String(count).padStart(7)}`),
    `latency  p50 ${ms(summary.latencyMs.p50)}  p95 ${ms(summary.latencyMs.p95)}  p99 ${ms(summary.latencyMs.p99)}  max ${ms(summary.latencyMs.max)}`,
    `success rate ${(summary.successRate * 100).toFixed(1)} % (${ok}/${summary.sent} answered 2xx)`,
    ...summary.failures.slice(0, 10).map((f) => `  line ${f.line}: ${f.status}${f.code ? ` ${f.code}` : ''}${f.detail ? ` (${f.detail})` : ''}`),
    ...(summary.failures.length > 10 ? [`  … and ${summary.failures.length - 10} more`] : []),
  ];
  return `${lines.join('\n')}\n`;
}
