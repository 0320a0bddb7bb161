import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LedgerError } from '../../domain/errors.ts';
import { ConfigError } from '../config.ts';
import { DataDirInUseError, DataDirUnusableError } from '../eventstore/dataDirLock.ts';
import { CliError } from './cliError.ts';
import { kafkaConnectMessage } from './kafkaConnectError.ts';
import { storeConnectMessage } from './storeConnectError.ts';

// The `ledger` command. Each subcommand is a module exporting `run(args) → exit code`, loaded
// only when chosen, so `ledger help` does not start a database driver.
export interface Subcommand {
  summary: string;
  // One line per form, with every option the command takes: `ledger <command> --help` prints it
  // without loading the command, so keep it in step with the command's own USAGE.
  usage: string;
  // Exit code when the command fails to run; 1 unless 1 already means an answer (replay: differs).
  failureExit?: number;
  load: () => Promise<{ run(args: string[]): Promise<number> }>;
}

// Telemetry starts before the command's modules load, so everything they create reports to it.
const withTelemetry =
  <T>(load: () => Promise<T>) =>
  async (): Promise<T> => {
    await import('../telemetry/preload.ts');
    return load();
  };

// Add a subcommand here (events, state, replay, projections, …).
export const subcommands: Record<string, Subcommand> = {
  serve: {
    summary: 'run the HTTP service (PostgreSQL if DATABASE_URL is set, else embedded PGlite)',
    usage: 'ledger serve',
    load: withTelemetry(() => import('./serve.ts')),
  },
  projections: {
    summary: 'read-model status, rebuild, or run the projectors as their own process',
    usage: 'ledger projections status [--json]\nledger projections rebuild <crm|support|app>\nledger projections run [--once]',
    load: withTelemetry(() => import('./projections.ts')),
  },
  redeliver: {
    summary: 're-process kept webhook deliveries through today’s translators (no duplicates)',
    usage:
      'ledger redeliver <inbox id> [--json]\n' +
      'ledger redeliver --since <ISO time | 90m | 6h | 2d> [--source stripe|crm|support] [--limit N] [--after <inbox id>] [--json]',
    load: () => import('./redeliver.ts'),
  },
  unmatched: {
    summary: 'deliveries still waiting for a customer: what each waits for, when it is tried next',
    usage: 'ledger unmatched [--json]',
    load: () => import('./unmatched.ts'),
  },
  webhooks: {
    summary: 're-sign captured deliveries and send them to another environment, with a summary',
    usage: 'ledger webhooks replay <file.ndjson> --to <base url> --secret-env <VAR | source=VAR>… [--source stripe|crm|support] [--concurrency N] [--json]',
    load: () => import('./webhooksReplay.ts'),
  },
  doctor: {
    summary: 'launch-readiness checks, each pass / fail with a fix hint (exit 1 on a failure)',
    usage: 'ledger doctor [--json]\nledger doctor --fingerprints',
    load: () => import('./doctor.ts'),
  },
  'audit-secrets': {
    summary: 'scan build output (bundles, source maps) for secrets; exit 1 on a find',
    usage: 'ledger audit-secrets <dir…> [--allow <file>] [--json]',
    load: () => import('./auditSecrets.ts'),
  },
  relay: {
    summary: 'produce committed events to Kafka (KAFKA_BROKERS, KAFKA_TOPIC), in per-customer order',
    usage: 'ledger relay [--once]',
    load: () => import('./relay.ts'),
  },
  events: {
    summary: "a customer's timeline: facts, decisions, sources, correlation ids, state after each",
    usage: 'ledger events <customer | stripe:cus_… | email> [--json]',
    load: () => import('./events.ts'),
  },
  state: {
    summary: 'a customer and its CRM, support and app views as of a version or a time',
    usage: 'ledger state <customer> [--at <version | ISO time>] [--json]',
    load: () => import('./state.ts'),
  },
  replay: {
    summary: "today's lifecycle rules over the recorded facts; exit 1 where a decision differs, 2 if it could not compare",
    usage: 'ledger replay <customer> | --all [--since <ISO time | 90m | 6h | 2d>] [--json]',
    // diff's convention: a deploy gate must tell "decisions differ" (1) from "could not compare".
    failureExit: 2,
    load: () => import('./replay.ts'),
  },
  parked: {
    summary: 'parked projection events: list, retry, skip with a reason (audited)',
    usage:
      'ledger parked list [--projection crm|support|app] [--status parked|retried|skipped] [--json]\n' +
      'ledger parked retry <id…> | --all [--json]\n' +
      'ledger parked skip <id> --reason <text> [--json]',
    load: () => import('./parked.ts'),
  },
  trace: {
    summary: 'everything one correlation id touched: delivery, events, decisions, read-model updates, with timings and trace id',
    usage: 'ledger trace <correlation id> [--json]',
    load: () => import('./trace.ts'),
  },
  help: {
    summary: 'list the commands, or one command’s usage',
    usage: 'ledger help [<command>]',
    load: async () => ({ run: printHelp }),
  },
};

const commandNamed = (name: string): Subcommand | undefined => (Object.hasOwn(subcommands, name) ? subcommands[name] : undefined);

const indent = (text: string, by: string): string => text.replace(/^/gm, by);

export function helpText(): string {
  const commands = Object.values(subcommands).map((c) => `${indent(c.usage, '  ')}\n${indent(c.summary, '      ')}`);
  return `Usage: ledger <command> [options]   (ledger <command> --help: one command)\n\nCommands:\n${commands.join('\n')}\n\nConfiguration comes from the environment; see README.md.\n`;
}

export function commandHelp(command: Subcommand): string {
  return `Usage:\n${indent(command.usage, '  ')}\n\n${command.summary}\n\nConfiguration comes from the environment; see README.md.\n`;
}

async function printHelp(args: string[]): Promise<number> {
  const [name] = args;
  const command = name === undefined ? undefined : commandNamed(name);
  if (name !== undefined && !command) {
    process.stderr.write(`ledger: unknown command '${name}'\n\n${helpText()}`);
    return 2;
  }
  process.stdout.write(command ? commandHelp(command) : helpText());
  return 0;
}

// --help or -h anywhere before a `--` (after it, an argument is only data: a directory named -h).
const asksForHelp = (args: string[]): boolean => {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
};

// Returns the exit code: 0 done, 1 failed, 2 usage error.
export async function main(argv: string[]): Promise<number> {
  const [name = 'help', ...args] = argv;
  const command = name === '--help' || name === '-h' ? subcommands.help : commandNamed(name);
  if (!command) {
    process.stderr.write(`ledger: unknown command '${name}'\n\n${helpText()}`);
    return 2;
  }
  // Answered here, before the command loads: `ledger serve --help` must not start the service,
  // nor any command open a store, to say what it takes.
  if (asksForHelp(args)) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  try {
    const { run } = await command.load();
    return await run(args);
  } catch (error) {
    process.stderr.write(`${failureMessage(error, name)}\n`);
    return command.failureExit ?? 1;
  }
}

function failureMessage(error: unknown, name: string): string {
  // A config error is the operator's to fix: its message says what, a stack would only hide it.
  if (error instanceof ConfigError || error instanceof CliError || error instanceof DataDirInUseError || error instanceof DataDirUnusableError) return `ledger: ${error.message}`;
  const unreachable = storeConnectMessage(error, process.env.DATABASE_URL?.trim()) ?? kafkaConnectMessage(error, process.env.KAFKA_BROKERS?.trim());
  if (unreachable) return `ledger: ${unreachable}`;
  // A LedgerError is written for whoever caused it (no such inbox delivery, a value its contract
  // refuses) and carries a stable code, as the admin API answers it; only a 500 one is a bug
  // whose stack is worth printing.
  if (error instanceof LedgerError && error.status !== 500) return `ledger: ${error.code}: ${error.message}`;
  return `ledger ${name} failed: ${String((error as Error)?.stack ?? error)}`;
}

// Run when started as `node --import tsx services/cli/main.ts` (npm start, Docker); bin/ledger.js
// imports main() instead, and tests may import this module without running anything.
const isEntryPoint = (): boolean => {
  try {
    return realpathSync(process.argv[1] ?? '') === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
};

// exitCode, not process.exit(): a command's last writes to a pipe must drain first.
if (isEntryPoint()) process.exitCode = await main(process.argv.slice(2));
