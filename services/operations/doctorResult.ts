import type { LedgerDatabase } from '../eventstore/database.ts';

// What every `ledger doctor` check returns, and what it may use.

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

// How doctor reaches the store: directly, through the running service (it holds the embedded
// files), or not at all (and why).
export type DoctorStore =
  | { kind: 'direct'; db: LedgerDatabase }
  | { kind: 'service'; url: string; apiKey: string | undefined }
  | { kind: 'unavailable'; detail: string; fix: string };

export interface DoctorContext {
  env: Record<string, string | undefined>;
  store: DoctorStore;
  // Injected in tests; the real ones by default.
  fetch?: typeof fetch;
  connect?: (host: string, port: number, timeoutMs: number) => Promise<void>;
  readFile?: (path: string) => Promise<string>;
}

export const pass = (name: string, detail: string): CheckResult => ({ name, status: 'pass', detail });
export const fail = (name: string, detail: string, fix: string): CheckResult => ({ name, status: 'fail', detail, fix });
export const skip = (name: string, detail: string): CheckResult => ({ name, status: 'skip', detail });
