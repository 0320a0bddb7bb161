// The smallest surface both drivers share, so the adapter runs the same SQL on pg and PGlite.
export const statementNames = new Map<string, string>();

// Hot statements (the append, readAll) register once under a name; the pg driver then parses
// them once per connection instead of on every call, and so does the embedded store
// (pglitePrepared.ts).
export function namedStatement(name: string, text: string): string {
  statementNames.set(text, name);
  return text;
}

export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

export interface SqlExecutor {
  query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<QueryResult<Row>>;
  // Runs several statements (migrations) without parameters.
  exec(sql: string): Promise<void>;
}

export interface SqlClient extends SqlExecutor {
  readonly kind: 'postgres' | 'pglite';
  // Runs fn in one transaction on one connection; commits when fn resolves, rolls back when it throws.
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  // Calls back on NOTIFY for the channel (Postgres) or after a local append (PGlite).
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
