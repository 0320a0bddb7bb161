import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type LedgerConfig } from '../config.ts';
import type { LedgerDatabase } from '../eventstore/database.ts';
import { openDatabase } from '../eventstore/openDatabase.ts';
import { CliError } from './cliError.ts';

// Where a running `ledger serve` is (LEDGER_URL; unset or empty: the default), without a trailing slash.
export const serviceUrl = (env: NodeJS.ProcessEnv = process.env): string => (env.LEDGER_URL?.trim() || 'http://127.0.0.1:3000').replace(/\/+$/, '');

// How a CLI command reaches the ledger's data:
// - direct: DATABASE_URL (PostgreSQL, any number of processes), or the embedded PGlite files
//   when no service holds them;
// - remote: the embedded store is held by a running `ledger serve` (PGlite allows one process
//   on its files), so the command calls that service's admin API at LEDGER_URL with
//   LEDGER_API_KEY — never opening the files a second time.
export type LedgerAccess =
  | { kind: 'direct'; db: LedgerDatabase; config: LedgerConfig; close(): Promise<void> }
  | { kind: 'remote'; url: string; apiKey: string; close(): Promise<void> };

export async function ledgerAccess(): Promise<LedgerAccess> {
  const config = loadConfig();
  if (!config.store.databaseUrl && (await serviceIsUp())) {
    const apiKey = process.env.LEDGER_API_KEY;
    if (!apiKey) {
      throw new CliError(
        `a service answers at ${serviceUrl()}, so it holds the embedded store in ${config.store.dataDir}: ` +
          'set LEDGER_API_KEY (an admin-API key) to go through it, or stop the service; if that service runs on PostgreSQL, set its DATABASE_URL here too',
      );
    }
    return { kind: 'remote', url: serviceUrl(), apiKey, close: async () => {} };
  }
  refuseNewEmbeddedStore(config);
  const db = await openDatabase(config.store);
  return { kind: 'direct', db, config, close: () => db.close() };
}

// Whether `ledger serve` ever made a store in the directory (an existing directory is not one).
export const embeddedStoreIn = (dataDir: string): boolean => existsSync(join(dataDir, 'PG_VERSION'));

// With the service stopped (or LEDGER_URL pointing elsewhere) and no store in LEDGER_DATA_DIR (run
// from another directory, say), opening the embedded store would create an empty one, and every
// command would answer from it: no customers, nothing parked, no lag, "no difference", exit 0.
// Only `ledger serve` creates the embedded store.
export function refuseNewEmbeddedStore(config: LedgerConfig): void {
  const { dataDir, databaseUrl } = config.store;
  if (databaseUrl || dataDir.startsWith('memory://') || embeddedStoreIn(dataDir)) return;
  throw new CliError(
    `no embedded store in ${dataDir}, and no service answers at ${serviceUrl()}: run this where the service's LEDGER_DATA_DIR is, ` +
      'set LEDGER_URL to the running service (and LEDGER_API_KEY), or DATABASE_URL for PostgreSQL; `ledger serve` creates the store',
  );
}

export async function serviceIsUp(url = serviceUrl()): Promise<boolean> {
  return fetch(`${url}/health/live`, { signal: AbortSignal.timeout(1_000) }).then(
    (r) => r.ok,
    () => false,
  );
}

// Calls an admin route; a problem+json answer becomes a CliError carrying its code and detail.
export async function callService<T>(access: Extract<LedgerAccess, { kind: 'remote' }>, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${access.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${access.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) {
    const problem = safeJson(text) as { code?: string; detail?: string } | undefined;
    throw new CliError(`${method} ${path}: ${response.status} ${problem?.code ?? ''} ${problem?.detail ?? text}`.trim());
  }
  return (text ? JSON.parse(text) : undefined) as T;
}

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};
