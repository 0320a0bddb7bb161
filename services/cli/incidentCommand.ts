import { LedgerError } from '../../domain/errors.ts';
import { UsageError } from './cliError.ts';
import { ledgerAccess, type LedgerAccess } from './ledgerAccess.ts';
import { colorEnabled } from './terminalTable.ts';

// The frame every incident command (events, state, replay, parked, projections) runs in: its
// flags are checked before any store is opened, then it runs against the ledger however the
// ledger is reached (directly, or through the running service).

export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
  // Colour on stdout (a terminal, NO_COLOR unset).
  color: boolean;
  // Progress redraws one line on a terminal; a log gets a line now and then.
  progressInPlace: boolean;
}

export const processIo = (): CommandIo => ({
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  color: colorEnabled(process.stdout),
  progressInPlace: process.stderr.isTTY === true,
});

export { UsageError } from './cliError.ts';

export async function runIncidentCommand<Parsed>(
  usage: string,
  parse: () => Parsed,
  execute: (access: LedgerAccess, parsed: Parsed, io: CommandIo) => Promise<number>,
): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parse();
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof LedgerError || isParseArgsError(error))) throw error;
    process.stderr.write(`ledger: ${error.message}\n\n${usage}`);
    return 2;
  }
  const access = await ledgerAccess();
  try {
    // A LedgerError it throws is the operator's one line (main.ts).
    return await execute(access, parsed, processIo());
  } finally {
    await access.close();
  }
}

// node:util parseArgs reports unknown or malformed flags with ERR_PARSE_ARGS_* codes.
const isParseArgsError = (error: unknown): error is Error =>
  error instanceof Error && 'code' in error && typeof error.code === 'string' && error.code.startsWith('ERR_PARSE_ARGS');

export const json = (value: unknown): string =>
  `${JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`;

// ISO times as `2026-03-01 10:00:00` (UTC), the width of a column.
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const time = new Date(iso);
  return Number.isNaN(time.getTime()) ? iso : time.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, '');
}
