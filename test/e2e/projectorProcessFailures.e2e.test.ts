import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { renderTrail } from '../../services/cli/trace.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { openDatabase } from '../../services/eventstore/openDatabase.ts';
import { READ_MODEL_NAMES } from '../../services/projector/projectorSchema.ts';
import { correlationTrail } from '../../services/telemetry/correlationTrail.ts';
import { recordHistories } from '../support/customerHistories.ts';
import { databaseTargets, POSTGRES_URL, urlOfSchema } from '../support/databases.ts';
import { startLedgerProcess, waitForOutput } from '../support/servedProcess.ts';

// `ledger projections run` as its own process (LEDGER_PROJECTOR=off on the service), with an event
// it cannot apply: as in the service, it is retried, then parked, and everyone else flows; and
// the customer's data never reaches the log. Before, the long-running process died at the first
// failure (a bigint in its log line), `--once` exited 1 at the first attempt on every run and
// never parked it (every later event waited behind it), and the service's log carried the event's
// data (e-mail, name) on every retry.
const postgres = databaseTargets.find((t) => t.name === 'postgres')!;

describe('a projector process and an event it cannot apply (PostgreSQL)', async () => {
  const skip = await postgres.skip();
  const CUSTOMERS = 6;

  // A fresh schema with six customers' histories; the first customer's lead (its e-mail) made
  // unreadable, as a bad deploy or a hand edit leaves one.
  async function storeWithAPoisonedLead(): Promise<{ db: LedgerDatabase; env: Record<string, string>; email: string; poisoned: string; correlationId: string }> {
    const schema = `t_ppf_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const db = await openDatabase({ databaseUrl: POSTGRES_URL, schema, poolSize: 2 });
    await recordHistories(db.store, CUSTOMERS);
    const { rows } = await db.sql.query<{ event_id: string; email: string; correlation_id: string }>(
      `select event_id::text, data->>'email' as email, metadata->>'correlationId' as correlation_id from ledger_events where type = 'LeadCaptured' order by position limit 1`,
    );
    await db.sql.exec('alter table ledger_events disable trigger ledger_events_immutable');
    await db.sql.query('update ledger_events set schema_version = 99 where event_id = $1::uuid', [rows[0]!.event_id]);
    await db.sql.exec('alter table ledger_events enable trigger ledger_events_immutable');
    const env = { DATABASE_URL: await urlOfSchema(db), LEDGER_PROJECTOR_BATCH_SIZE: '10' };
    return { db, env, email: rows[0]!.email, poisoned: rows[0]!.event_id, correlationId: rows[0]!.correlation_id };
  }

  async function parkedFailures(db: LedgerDatabase, eventId: string): Promise<string[]> {
    const { rows } = await db.sql.query<{ projection: string }>(
      `select projection from ledger_parked_events where event_id = $1::uuid and reason = 'failed' order by projection`,
      [eventId],
    );
    return rows.map((r) => r.projection);
  }

  // Every other customer reached every read model.
  async function othersApplied(db: LedgerDatabase): Promise<void> {
    for (const name of READ_MODEL_NAMES) {
      const { rows } = await db.sql.query<{ n: number }>(`select count(*)::int as n from read_${name}`);
      assert.ok(rows[0]!.n >= CUSTOMERS - 1, `${name}: ${rows[0]!.n} customers`);
    }
  }

  const stores: LedgerDatabase[] = [];
  after(async () => {
    for (const db of stores) {
      const { rows } = await db.sql.query<{ schema: string }>('select current_schema() as schema');
      await db.sql.exec(`drop schema ${rows[0]!.schema} cascade`);
      await db.close();
    }
  });
  let once: Awaited<ReturnType<typeof storeWithAPoisonedLead>>;
  let running: Awaited<ReturnType<typeof storeWithAPoisonedLead>>;
  before(async () => {
    if (skip) return;
    once = await storeWithAPoisonedLead();
    running = await storeWithAPoisonedLead();
    stores.push(once.db, running.db);
  });

  test('--once retries it, parks it for each read model, applies the rest, and says so; exit 0, no stack, no e-mail', { skip, timeout: 90_000 }, async () => {
    const run = await startLedgerProcess(['projections', 'run', '--once'], once.env);
    assert.equal(await run.exited, 0, run.output());
    assert.deepEqual(await parkedFailures(once.db, once.poisoned), [...READ_MODEL_NAMES].sort());
    await othersApplied(once.db);
    assert.match(run.output(), /parked [1-9]\d* \(`ledger parked list` shows why\)/);
    assert.doesNotMatch(run.output(), /\n\s+at /, 'no stack');
    assert.ok(!run.output().includes(once.email), 'the event\'s data is not in the output');
    // Its warnings are JSON lines naming the event, not its data.
    const warnings = run.output().split('\n').filter((line) => line.startsWith('{'));
    assert.ok(warnings.length > 0);
    for (const line of warnings) assert.equal((JSON.parse(line) as { eventId?: string }).eventId, once.poisoned, line);

    // `ledger trace` on its delivery: each read model passed it, none applied it. It said
    // "applied" for all three.
    const trail = await correlationTrail(once.db.sql, once.correlationId);
    for (const consumer of trail.consumers) assert.deepEqual([consumer.name, consumer.caughtUp, consumer.parked], [consumer.name, true, 1]);
    const text = renderTrail(trail, false);
    assert.doesNotMatch(text, /read model \w+ +applied/);
    assert.equal(text.match(/passed, 1 of these events PARKED/g)?.length, READ_MODEL_NAMES.length);
  });

  test('the long-running process parks it and goes on serving (it died at the first failure), stops cleanly; no e-mail in its log', { skip, timeout: 90_000 }, async () => {
    const run = await startLedgerProcess(['projections', 'run'], running.env);
    try {
      await waitForOutput(run, /projectors running/);
      const deadline = Date.now() + 60_000;
      while ((await parkedFailures(running.db, running.poisoned)).length < READ_MODEL_NAMES.length) {
        assert.equal(run.child.exitCode, null, run.output());
        assert.ok(Date.now() < deadline, `not parked in time:\n${run.output()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await othersApplied(running.db);
      assert.equal(run.child.exitCode, null, run.output());
    } finally {
      run.child.kill('SIGTERM');
    }
    assert.equal(await run.exited, 0, run.output());
    assert.ok(!run.output().includes(running.email), 'the event\'s data is not in the log');
  });
});
