import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { domainEvent } from '../../contracts/domainEvents.ts';
import { handleCommand } from '../../services/commands/handleCommand.ts';
import { loadConfig } from '../../services/config.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { createProjector } from '../../services/projector/readModelRunners.ts';
import { databaseTargets, dropSchemaOf, openPostgres, POSTGRES_URL } from '../support/databases.ts';
import { TEST_ENV } from '../support/testApp.ts';

// `ledger projections run --once` and every caller of catchUp mean "what was committed before I
// asked": an event another session's older transaction holds back behind the xmin fence is
// waited for, not silently left for later.
describe('catching up on PostgreSQL', async () => {
  const skip = await databaseTargets.find((target) => target.name === 'postgres')!.skip();
  let db: LedgerDatabase | undefined;
  before(async () => {
    if (!skip) db = await openPostgres(4);
  });
  after(async () => {
    if (!db) return;
    await dropSchemaOf(db);
    await db.close();
  });

  test('applies an event committed while an older transaction was open, once that transaction ends', { skip }, async () => {
    const older = new pg.Client({ connectionString: POSTGRES_URL });
    await older.connect();
    try {
      // Another session's write transaction, begun before the payment's (it holds the fence).
      await older.query('begin');
      await older.query('select pg_current_xact_id()');
      await handleCommand(
        { store: db!.store, now: () => new Date('2026-01-02T00:00:00Z') },
        {
          command: { type: 'RecordFact', fact: domainEvent('LeadCaptured', { occurredAt: '2026-01-02T00:00:00Z', email: 'held@example.com', channel: 'app' }) },
          identities: [{ kind: 'app', externalId: 'user_held' }],
          createIfMissing: true,
          idempotencyKey: { source: 'app', sourceEventId: 'held-1' },
          metadata: { source: 'app', sourceEventId: 'held-1', correlationId: 'corr-held-1' },
        },
      );
      const projector = createProjector(db!, loadConfig(TEST_ENV));
      const caughtUp = projector.catchUp();
      await new Promise((resolve) => setTimeout(resolve, 300));
      await older.query('rollback');
      await caughtUp;
      const { rows } = await db!.sql.query<{ n: string }>('select count(*)::text as n from read_crm');
      assert.equal(rows[0]!.n, '1', 'the lead is in the CRM read model when catchUp returns');
    } finally {
      await older.end();
    }
  });
});
