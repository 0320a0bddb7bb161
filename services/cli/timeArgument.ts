import { UsageError } from './cliError.ts';

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

// `--since` as an operator types it at 3 a.m.: an ISO 8601 time, or an age such as 90m, 6h, 2d.
// A form it does not take is a usage error (exit 2), never a failure to run: `ledger replay`'s
// exit 1 means "decisions differ" to a deploy gate.
export function sinceArgument(value: string, now: Date = new Date()): string {
  const age = /^(\d{1,6})([mhd])$/.exec(value.trim());
  if (age) return new Date(now.getTime() - Number(age[1]) * UNIT_MS[age[2] as keyof typeof UNIT_MS]).toISOString();
  const at = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at)) throw new UsageError(`--since ${value}: give an ISO 8601 time or an age such as 90m, 6h, 2d`);
  return new Date(at).toISOString();
}
