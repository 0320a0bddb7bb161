import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { openDatabase } from '../../services/eventstore/openDatabase.ts';
import { READ_MODEL_NAMES } from '../../services/projector/projectorSchema.ts';
import { recordHistories } from '../support/customerHistories.ts';
import { databaseTargets, POSTGRES_URL } from '../support/databases.ts';
import { migratedDataDir } from '../support/migratedDataDir.ts';
import { referenceRows, tableRows } from '../support/readModelTables.ts';
import { freePort, startLedgerProcess, waitForOutput } from '../support/servedProcess.ts';

for (const target of databaseTargets) {
  describe(`projector killed with SIGKILL on ${target.name}`, async () => {
    const skip = await target.skip();
    const dataDir = await migratedDataDir('ledger-crash-');
    const schema = `t_crash_${Date.now().toString(36)}`;
    after(() => rmSync(dataDir, { recursive: true, force: true }));

    test('6 kills at random points mid-stream; the read models equal an uninterrupted run', { skip, timeout: 240_000 }, async () => {
      const open = () =>
        target.name === 'postgres' ? openDatabase({ databaseUrl: POSTGRES_URL, schema }) : openDatabase({ dataDir });
      const env: Record<string, string> =
        target.name === 'postgres'
          ? { DATABASE_URL: `${POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}` }
          : { LEDGER_DATA_DIR: dataDir, LEDGER_URL: `http://127.0.0.1:${await freePort()}` };
      // Small batches: a catch-up then spans many transactions, so the kills land inside it.
      env.LEDGER_PROJECTOR_BATCH_SIZE = '20';
      let db = await open();
      await recordHistories(db.store, 400);
      if (target.name === 'pglite') await db.close();

      const checkpoints: string[] = [];
      for (let kill = 0; kill < 6; kill += 1) {
        const projector = await startLedgerProcess(['projections', 'run'], env);
        await waitForOutput(projector, /projectors running/);
        // A cold process needs a few hundred ms for its first batch; the whole catch-up takes about a second.
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 700));
        projector.child.kill('SIGKILL');
        await projector.exited;
        if (target.name === 'postgres') {
          const { rows } = await db.sql.query<{ p: string }>(`select coalesce(min(position), 0)::text as p from ledger_projection_checkpoints`);
          checkpoints.push(rows[0]!.p);
        }
      }
      if (target.name === 'postgres') {
        const head = (await db.store.headPosition()).toString();
        assert.ok(
          checkpoints.some((p) => p !== '0' && p !== head),
          `at least one kill landed mid-stream (checkpoints ${checkpoints.join(', ')}, head ${head})`,
        );
      }
      const finisher = await startLedgerProcess(['projections', 'run', '--once'], env);
      assert.equal(await finisher.exited, 0, finisher.output());

      if (target.name === 'pglite') db = await open();
      try {
        for (const name of READ_MODEL_NAMES) {
          const live = await tableRows(db, `read_${name}`);
          assert.ok(live.length >= 400, `${name} has every customer`);
          assert.deepEqual(live, await referenceRows(db, name), `${name} equals an uninterrupted run`);
        }
      } finally {
        if (target.name === 'postgres') await db.sql.exec(`drop schema ${schema} cascade`);
        await db.close();
      }
    });
  });
}
