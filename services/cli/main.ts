import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../config.ts';
import { DataDirInUseError } from '../eventstore/dataDirLock.ts';
import { CliError } from './cliError.ts';
import { kafkaConnectMessage } from './kafkaConnectError.ts';
import { storeConnectMessage } from './storeConnectError.ts';

// The `ledger` command. Each subcommand is a module exporting `run(args) → exit code`, loaded
// only when chosen, so `ledger help` does not start a database driver.
export interface Subcommand {
  summary: string;
  usage: string;
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
    usage: 'ledger projections status|rebuild <name>|run',
    load: withTelemetry(() => import('./projections.ts')),
  },
  redeliver: {
    summary: 're-process kept webhook deliveries through today’s translators (no duplicates)',
    usage: 'ledger redeliver <inbox id> | --since <time> [--source stripe|crm|support]',
    load: () => import('./redeliver.ts'),
  },
  unmatched: {
    summary: 'deliveries still waiting for a customer: what each waits for, when it is tried next',
    usage: 'ledger unmatched [--json]',
    load: () => import('./unmatched.ts'),
  },
  webhooks: {
    summary: 're-sign captured deliveries and send them to another environment, with a summary',
    usage: 'ledger webhooks replay <file.ndjson> --to <url> --secret-env <VAR>',
    load: () => import('./webhooksReplay.ts'),
  },
  doctor: {
    summary: 'launch-readiness checks, each pass / fail with a fix hint (exit 1 on a failure)',
    usage: 'ledger doctor [--fingerprints] [--json]',
    load: () => import('./doctor.ts'),
  },
  'audit-secrets': {
    summary: 'scan build output (bundles, source maps) for secrets; exit 1 on a find',
    usage: 'ledger audit-secrets <dir…> [--allow <file>]',
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
    summary: "today's lifecycle rules over the recorded facts; exit 1 where a decision differs",
    usage: 'ledger replay <customer> | --all [--since <ISO time>] [--json]',
    load: () => import('./replay.ts'),
  },
  parked: {
    summary: 'parked projection events: list, retry, skip with a reason (audited)',
    usage: 'ledger parked list | retry <id…|--all> | skip <id> --reason <text>',
    load: () => import('./parked.ts'),
  },
  trace: {
    summary: 'everything one correlation id touched: delivery, events, decisions, read-model updates, with timings and trace id',
    usage: 'ledger trace <correlation id> [--json]',
    load: () => import('./trace.ts'),
  },
  help: {
    summary: 'list the commands',
    usage: 'ledger help',
    load: async () => ({ run: printHelp }),
  },
};

export function helpText(): string {
  const width = Math.max(...Object.values(subcommands).map((c) => c.usage.length));
  const lines = Object.values(subcommands).map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`);
  return `Usage: ledger <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nConfiguration comes from the environment; see README.md.\n`;
}

async function printHelp(): Promise<number> {
  process.stdout.write(helpText());
  return 0;
}

// Returns the exit code: 0 done, 1 failed, 2 usage error.
export async function main(argv: string[]): Promise<number> {
  const [name = 'help', ...args] = argv;
  const command = name === '--help' || name === '-h' ? subcommands.help : Object.hasOwn(subcommands, name) ? subcommands[name] : undefined;
  if (!command) {
    process.stderr.write(`ledger: unknown command '${name}'\n\n${helpText()}`);
    return 2;
  }
  try {
    const { run } = await command.load();
    return await run(args);
  } catch (error) {
    // A config error is the operator's to fix: its message says what, a stack would only hide it.
    const forOperator = error instanceof ConfigError || error instanceof CliError || error instanceof DataDirInUseError;
    const unreachable = forOperator
      ? undefined
      : (storeConnectMessage(error, process.env.DATABASE_URL?.trim()) ?? kafkaConnectMessage(error, process.env.KAFKA_BROKERS?.trim()));
    process.stderr.write(
      forOperator ? `ledger: ${error.message}\n` : unreachable ? `ledger: ${unreachable}\n` : `ledger ${name} failed: ${String((error as Error)?.stack ?? error)}\n`,
    );
    return 1;
  }
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
