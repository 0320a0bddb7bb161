import { loadConfig, type LedgerConfig } from '../config.ts';
import type { LedgerDatabase } from '../eventstore/database.ts';
import { openDatabase } from '../eventstore/openDatabase.ts';
import { CliError } from './cliError.ts';
import { refuseNewEmbeddedStore, serviceIsUp, serviceUrl } from './ledgerAccess.ts';

// PGlite allows one process on its files. When `ledger serve` holds them, a CLI command must
// not open them a second time: it is refused with a pointer to the running service.
export async function openDatabaseForCli(): Promise<{ db: LedgerDatabase; config: LedgerConfig }> {
  const config = loadConfig();
  if (!config.store.databaseUrl) {
    if (await serviceIsUp()) {
      throw new CliError(
        `a service answers at ${serviceUrl()}, so it holds the embedded store in ${config.store.dataDir} ` +
          '(PGlite allows one process): stop it first; if that service runs on PostgreSQL, set its DATABASE_URL here too',
      );
    }
  }
  refuseNewEmbeddedStore(config);
  const db = await openDatabase(config.store);
  return { db, config };
}
