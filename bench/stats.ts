import { readFileSync } from 'node:fs';
import os from 'node:os';

// utime + stime from a /proc/<pid>/stat line (clock ticks of 10 ms on Linux).
export const cpuMsOfStat = (stat: string): number => {
  const fields = stat.split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};

// A process on this machine (a PostgreSQL backend, the service): its CPU so far.
export const processCpuMs = (pid: number): number => cpuMsOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}

export interface RunResult {
  operations: number;
  seconds: number;
  latenciesMs: number[];
}

// Runs `op` from `concurrency` loops for `durationMs`, recording each call's latency.
export async function runFor(durationMs: number, concurrency: number, op: (worker: number, i: number) => Promise<void>): Promise<RunResult> {
  const latenciesMs: number[] = [];
  const start = performance.now();
  const deadline = start + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let i = 0; performance.now() < deadline; i += 1) {
        const t0 = performance.now();
        await op(worker, i);
        latenciesMs.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return { operations: latenciesMs.length, seconds, latenciesMs: latenciesMs.sort((a, b) => a - b) };
}

export const rate = (r: RunResult) => r.operations / r.seconds;
export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  return `${os.cpus().length} × ${cpu}, ${fmt(os.totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

export function table(rows: Record<string, string | number>[]): string {
  if (rows.length === 0) return '';
  const headers = Object.keys(rows[0]!);
  const widths = headers.map((h) => Math.max(h.length, ...rows.map((r) => String(r[h] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(headers.map((h) => String(r[h] ?? ''))))].join('\n');
}
