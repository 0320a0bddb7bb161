import { parseArgs } from 'node:util';
import { DataDirInUseError } from '../eventstore/dataDirLock.ts';
import { openDatabase } from '../eventstore/openDatabase.ts';
import { doctorSettings, runDoctor } from '../operations/doctorChecks.ts';
import type { CheckResult, DoctorStore } from '../operations/doctorResult.ts';
import { formatFingerprints, ourFingerprints } from '../operations/secretFingerprints.ts';
import { embeddedStoreIn, serviceIsUp, serviceUrl } from './ledgerAccess.ts';
import { colorEnabled } from './terminalTable.ts';

const USAGE = `Usage:
  ledger doctor [--json]        launch-readiness checks; exit 1 if any fails
  ledger doctor --fingerprints  this environment's secret fingerprints, for the other one's
                                LEDGER_PEER_SECRET_FINGERPRINTS (never the secrets)
`;

export async function run(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { fingerprints: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } }));
  } catch (error) {
    process.stderr.write(`ledger doctor: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const env = process.env;
  if (values.fingerprints) {
    process.stdout.write(`${formatFingerprints(ourFingerprints(env))}\n`);
    return 0;
  }

  const { store, close } = await doctorStore(env);
  let results: CheckResult[];
  try {
    results = await runDoctor({ env, store });
  } finally {
    await close();
  }
  process.stdout.write(values.json ? `${JSON.stringify({ ok: results.every((r) => r.status !== 'fail'), checks: results }, null, 2)}\n` : describeResults(results, colorEnabled(process.stdout)));
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}

// Directly when it can; through the service when the service holds the embedded files (PGlite
// allows one process); never by creating or migrating a store (doctor only looks).
async function doctorStore(env: NodeJS.ProcessEnv): Promise<{ store: DoctorStore; close(): Promise<void> }> {
  const none = async () => {};
  const databaseUrl = env.DATABASE_URL?.trim();
  if (databaseUrl) {
    try {
      // Bounded, so that a lock held elsewhere or a silent server fails a check instead of hanging doctor.
      const queryTimeoutMs = doctorSettings(env).settings.LEDGER_DOCTOR_QUERY_TIMEOUT_SECONDS * 1_000;
      const db = await openDatabase({ databaseUrl, migrate: false, queryTimeoutMs });
      return { store: { kind: 'direct', db }, close: () => db.close() };
    } catch {
      return { store: { kind: 'unavailable', detail: 'cannot open DATABASE_URL', fix: 'check DATABASE_URL (postgres://user@host:port/db) and that PostgreSQL accepts connections' }, close: none };
    }
  }
  const url = serviceUrl(env);
  if (await serviceIsUp(url)) return { store: { kind: 'service', url, apiKey: env.LEDGER_API_KEY?.trim() || undefined }, close: none };
  const dataDir = env.LEDGER_DATA_DIR?.trim() || './.ledger';
  if (dataDir.startsWith('memory://') || !embeddedStoreIn(dataDir)) {
    return {
      store: { kind: 'unavailable', detail: `no embedded store at ${dataDir} and no service at ${url}`, fix: 'start `ledger serve` once (it creates and migrates the store), or set LEDGER_DATA_DIR / DATABASE_URL / LEDGER_URL' },
      close: none,
    };
  }
  try {
    const db = await openDatabase({ dataDir, migrate: false });
    return { store: { kind: 'direct', db }, close: () => db.close() };
  } catch (error) {
    if (!(error instanceof DataDirInUseError)) throw error;
    // A service holds the files but does not answer at LEDGER_URL (another port, say).
    return {
      store: { kind: 'unavailable', detail: `the embedded store ${dataDir} is held by process ${error.holder.pid}, and no service answers at ${url}`, fix: 'set LEDGER_URL to where that ledger serve listens (and LEDGER_API_KEY), or stop it' },
      close: none,
    };
  }
}

const COLOURS = { pass: '\x1b[32m', fail: '\x1b[31m', skip: '\x1b[33m' } as const;

export function describeResults(results: CheckResult[], colour = false): string {
  const width = Math.max(...results.map((r) => r.name.length));
  const lines: string[] = [];
  for (const r of results) {
    const label = r.status.toUpperCase();
    lines.push(`${colour ? `${COLOURS[r.status]}${label}\x1b[0m` : label}  ${r.name.padEnd(width)}  ${r.detail}`);
    for (const fix of r.fix?.split('\n') ?? []) lines.push(`      fix: ${fix}`);
  }
  const count = (status: CheckResult['status']) => results.filter((r) => r.status === status).length;
  lines.push(`${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped`);
  return `${lines.join('\n')}\n`;
}
