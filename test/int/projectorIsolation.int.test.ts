import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { domainEvent } from '../../contracts/domainEvents.ts';
import type { ReadModel } from '../../projections/projection.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { describeOnEachDatabase, openSecondPool, untilOlderTransactionsEnd } from '../support/databases.ts';
import { runTogether } from '../../services/projector/projectionCycle.ts';
import { ProjectionRunner } from '../../services/projector/projectionRunner.ts';
import { Projector } from '../../services/projector/projector.ts';

// One projector drives several read models. Every read model ends at the log's end with each
// event applied once, however many projector processes run, and one read model failing (a bug
// in its code, retried with backoff) never holds the others back.

interface Doc {
  seen: string[];
}

// Lists the CRM properties it saw; `failing.on` makes it throw on that property (a bug in one read
// model) until cleared.
function listing(name: 'crm' | 'support' | 'app', failing: { on: string | null } = { on: null }): ReadModel<Doc, null, null> {
  return {
    name,
    initialShared: null,
    apply(doc, input) {
      if (input.event.type !== 'CrmPropertyChanged') return { doc, shared: null };
      if (input.event.data.property === failing.on) throw new Error(`${name} cannot project ${failing.on}`);
      return { doc: { seen: [...(doc?.seen ?? []), input.event.data.property] }, shared: null };
    },
  };
}

let n = 0;
async function append(db: LedgerDatabase, customerId: string, property: string) {
  n += 1;
  await db.store.append(
    `customer-${customerId}`,
    [
      {
        ...domainEvent('CrmPropertyChanged', { occurredAt: `2026-01-01T00:00:${String(n % 60).padStart(2, '0')}Z`, property, value: String(n) }),
        metadata: { customerId, occurredAt: '2026-01-01T00:00:00Z', source: 'crm', correlationId: `c${n}` },
      },
    ],
    { expectedVersion: 'any' },
  );
}

async function seen(db: LedgerDatabase, table: string): Promise<Record<string, string[]>> {
  const { rows } = await db.sql.query<{ customer_id: string; doc: Doc | string }>(`select customer_id, doc from ${table} order by customer_id`);
  return Object.fromEntries(rows.map((r) => [r.customer_id, (typeof r.doc === 'string' ? (JSON.parse(r.doc) as Doc) : r.doc).seen]));
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const quietRunner = (db: LedgerDatabase, model: ReadModel<Doc, null, null>, settings = {}) =>
  new ProjectionRunner(db.sql, model as ReadModel<unknown, unknown, null>, null, { backoffBaseMs: 20, backoffMaxMs: 60, ...settings });

describeOnEachDatabase('projector with several read models', (suite) => {
  const { skip } = suite;
  let db: LedgerDatabase;
  before(() => {
    if (!skip) db = suite.db;
  });

  test('a read model whose event keeps failing backs off alone; the others keep up; after the fix it catches up', { skip }, async () => {
    await db.sql.exec('truncate read_crm, read_support, read_app; delete from ledger_projection_checkpoints');
    const failing = { on: 'poison' as string | null };
    const warnings: Record<string, unknown>[] = [];
    const runners = [
      quietRunner(db, listing('crm')),
      quietRunner(db, listing('support')),
      // Never parks during the test: the failure lasts until the "fix".
      quietRunner(db, listing('app', failing), { maxAttempts: 10_000 }),
    ];
    const projector = new Projector(db, runners, { pollIntervalMs: 50, logger: { warn: (object) => warnings.push(object) } });
    await projector.start();
    try {
      await append(db, 'cust_a', 'before');
      await append(db, 'cust_b', 'poison');
      await append(db, 'cust_c', 'after');
      const all = { cust_a: ['before'], cust_b: ['poison'], cust_c: ['after'] };
      await eventually('crm and support to reach the end', async () => {
        const [crm, support] = [await seen(db, 'read_crm'), await seen(db, 'read_support')];
        return JSON.stringify(crm) === JSON.stringify(all) && JSON.stringify(support) === JSON.stringify(all);
      });
      // Appends keep reaching the healthy read models while app is stuck.
      await append(db, 'cust_d', 'later');
      await eventually('crm to apply an append made while app fails', async () => (await seen(db, 'read_crm'))['cust_d'] !== undefined);
      // Whatever app committed stops before the poisoned event (its batches retry whole).
      assert.deepEqual(Object.keys(await seen(db, 'read_app')).filter((id) => id !== 'cust_a'), []);
      assert.ok(warnings.some((w) => w['readModel'] === 'app'), 'the failing read model is named in the log');
      assert.ok(warnings.every((w) => w['readModel'] === 'app'), 'only the failing read model failed');

      failing.on = null;
      await eventually('app to catch up after the fix', async () => Object.keys(await seen(db, 'read_app')).length === 4);
      assert.deepEqual(await seen(db, 'read_app'), await seen(db, 'read_crm'));
    } finally {
      await projector.stop();
    }
  });

  test('a read model far behind catches up in its own reads: the others apply a new event in the same batch', { skip }, async () => {
    await db.sql.exec('truncate read_crm, read_support, read_app; delete from ledger_projection_checkpoints');
    for (let i = 0; i < 12; i += 1) await append(db, `cust_h${i}`, 'history');
    const [crm, support, app] = (['crm', 'support', 'app'] as const).map((name) => quietRunner(db, listing(name), { batchSize: 5 }));
    await untilOlderTransactionsEnd(db.sql);
    for (const current of [crm!, support!]) while ((await current.runBatch()).more);
    await append(db, 'cust_fresh', 'fresh');
    // Visible to this batch whatever another test file's session holds open (the xmin fence).
    await untilOlderTransactionsEnd(db.sql);

    const outcomes = await runTogether(db.sql, [crm!, support!, app!]);

    assert.ok(outcomes.every((outcome) => 'result' in outcome));
    for (const table of ['read_crm', 'read_support']) assert.deepEqual((await seen(db, table))['cust_fresh'], ['fresh'], table);
    // app, starting from the log's beginning, took one batch of its own.
    const appOutcome = outcomes.find((outcome) => outcome.runner === app);
    assert.ok(appOutcome && 'result' in appOutcome && appOutcome.result.applied === 5 && appOutcome.result.more);
    assert.equal((await seen(db, 'read_app'))['cust_fresh'], undefined);
  });

  test('two projectors on one store (two processes) apply every event exactly once', { skip }, async () => {
    await db.sql.exec('truncate read_crm, read_support, read_app; delete from ledger_projection_checkpoints');
    const other = db.sql.kind === 'postgres' ? await openSecondPool(db, 8) : db;
    const projectors = [db, other].map(
      (store) => new Projector(store, [quietRunner(store, listing('crm')), quietRunner(store, listing('support')), quietRunner(store, listing('app'))], { pollIntervalMs: 50 }),
    );
    await Promise.all(projectors.map((p) => p.start()));
    try {
      const expected: Record<string, string[]> = {};
      await Promise.all(
        Array.from({ length: 10 }, async (_, c) => {
          for (let i = 0; i < 15; i += 1) {
            await append(db, `cust_j${c}`, `p${i}`);
            (expected[`cust_j${c}`] ??= []).push(`p${i}`);
          }
        }),
      );
      // The log also holds the first test's customers: compare this test's.
      const sorted = (o: Record<string, string[]>) =>
        JSON.stringify(Object.fromEntries(Object.entries(o).filter(([id]) => id in expected).sort(([a], [b]) => a.localeCompare(b))));
      for (const table of ['read_crm', 'read_support', 'read_app']) {
        await eventually(`${table} to reach the end`, async () => sorted(await seen(db, table)) === sorted(expected));
      }
    } finally {
      await Promise.all(projectors.map((p) => p.stop()));
      if (other !== db) await other.close();
    }
  });
});
