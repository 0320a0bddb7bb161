import { parse, protocol, type PGlite } from '@electric-sql/pglite';
import type { QueryResult } from './sqlClient.ts';

// PGlite's `query` parses and plans its statement on every call and drives the extended protocol
// as six separate calls into the WebAssembly module, a fixed cost of ~1–2 ms per statement that
// dwarfs most of the work (bench/RESULTS.md › Ingest, session 21). A named statement
// (`namedStatement`) is parsed once per database instead, as the pg driver does per connection,
// and each call sends bind, describe, execute and sync as one message.

const { serialize } = protocol;

export class PglitePreparedStatements {
  // Parameter types of each statement prepared on this database, by name.
  readonly #prepared = new Map<string, number[]>();

  constructor(private readonly db: PGlite) {}

  // At the top level: exclusive of transactions and other statements, as `db.query` is, and
  // synced to the files before it resolves.
  topLevel<Row>(name: string, text: string, params: unknown[]): Promise<QueryResult<Row>> {
    return this.db._runExclusiveTransaction(() => this.db._runExclusiveQuery(() => this.#run<Row>(name, text, params, true)));
  }

  // Inside a transaction, which holds the database already (and syncs at its commit).
  inTransaction<Row>(name: string, text: string, params: unknown[]): Promise<QueryResult<Row>> {
    return this.db._runExclusiveQuery(() => this.#run<Row>(name, text, params, false));
  }

  async #run<Row>(name: string, text: string, params: unknown[], syncToFs: boolean): Promise<QueryResult<Row>> {
    await this.db._checkReady();
    let types = this.#prepared.get(name);
    if (types === undefined) {
      // A failed parse prepares nothing: the next call tries again.
      const described = await this.db.execProtocolStream(Buffer.concat([serialize.parse({ name, text }), serialize.describe({ type: 'S', name }), serialize.sync()]), { syncToFs: false });
      types = parse.parseDescribeStatementResults(described);
      this.#prepared.set(name, types);
    }
    const values = params.map((param, i) => {
      if (param === null || param === undefined) return null;
      const serializer = this.db.serializers[types[i]!];
      return serializer ? serializer(param) : String(param);
    });
    const messages = await this.db.execProtocolStream(
      Buffer.concat([serialize.bind({ statement: name, values }), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync()]),
      { syncToFs },
    );
    const [result] = parse.parseResults(messages, this.db.parsers);
    return queryResultOf<Row>(result ?? { rows: [] });
  }
}

// PGlite's `affectedRows` is the count in a write's command tag, and 0 for a select; pg's
// `rowCount` is the rows a select returned too. The store's SQL runs on both, so it means that here.
export function queryResultOf<Row>(result: { rows: unknown[]; affectedRows?: number }): QueryResult<Row> {
  return { rows: result.rows as Row[], rowCount: result.affectedRows || result.rows.length };
}
