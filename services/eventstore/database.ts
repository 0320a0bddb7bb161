import type { EventStore } from './port.ts';
import type { SqlClient } from './sqlClient.ts';

export interface DatabaseOptions {
  // postgres://… ; when absent the embedded PGlite is used.
  databaseUrl?: string;
  // PGlite directory; 'memory://' (or inMemory) for an in-memory store (tests).
  dataDir?: string;
  // PGlite: start from a copy of another store's files (pgliteClient.ts), not an empty cluster.
  startFrom?: Blob;
  // Postgres schema to use (tests isolate themselves in a fresh schema).
  schema?: string;
  poolSize?: number;
  // PostgreSQL: a statement past this is cancelled, or abandoned with its connection when the
  // server cannot answer (pgClient.ts). Unset: none.
  queryTimeoutMs?: number;
}

export interface Readiness {
  ok: boolean;
  checks: { name: string; ok: boolean; detail?: string }[];
}

export interface LedgerDatabase {
  sql: SqlClient;
  store: EventStore;
  // Store reachable and every migration applied.
  readiness(): Promise<Readiness>;
  close(): Promise<void>;
}
