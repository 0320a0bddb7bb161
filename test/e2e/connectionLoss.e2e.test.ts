import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { databaseTargets, dropSchemaOf, openPostgres, POSTGRES_URL } from '../support/databases.ts';
import { startLedgerProcess } from '../support/servedProcess.ts';
import { fixture, type Json } from '../support/stripeEvents.ts';
import { signedStripeHeaders } from '../support/stripeSigning.ts';

// PostgreSQL restarts, fails over, or an operator ends a session: every connection the service
// holds is cut. A statement in flight fails (the provider retries its delivery); the process
// must go on, listen again, and answer the next delivery. Before, the first cut connection that
// was checked out of the pool (a LISTEN, a transaction) threw an unheard 'error' and ended it.

const postgres = databaseTargets.find((target) => target.name === 'postgres')!;

async function terminate(where: string, params: unknown[] = []): Promise<number> {
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    const { rows } = await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where pid <> pg_backend_pid() and ${where}`, params);
    return rows.length;
  } finally {
    await admin.end();
  }
}

const until = async (what: string, check: () => boolean | Promise<boolean>, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
};

describe('connections cut by PostgreSQL (e2e)', async () => {
  const skip = await postgres.skip();
  let db: LedgerDatabase;
  before(async () => {
    if (!skip) db = await openPostgres(4);
  });
  after(async () => {
    if (skip) return;
    await dropSchemaOf(db);
    await db.close();
  });

  test('a LISTEN whose connection is cut: the process goes on, listens again, says so once, and hears the next NOTIFY', { skip }, async () => {
    const channel = `cut_${randomBytes(4).toString('hex')}`;
    const heard: string[] = [];
    const unlisten = await db.sql.listen(channel, (payload) => heard.push(payload));
    try {
      assert.equal(await terminate(`query = $1`, [`LISTEN "${channel}"`]), 1);
      await until('listening again', () => heard.includes(''));
      await db.sql.query('select pg_notify($1, $2)', [channel, 'after']);
      await until('the next NOTIFY', () => heard.includes('after'));
      assert.deepEqual(heard, ['', 'after']);
    } finally {
      await unlisten();
    }
  });

  test('a transaction whose connection is cut fails, and the next one runs', { skip }, async () => {
    await assert.rejects(
      db.sql.transaction(async (tx) => {
        const { rows } = await tx.query<{ pid: number }>('select pg_backend_pid() as pid');
        await terminate('pid = $1', [rows[0]!.pid]);
        await tx.query('select 1');
      }),
    );
    const { rows } = await db.sql.transaction((tx) => tx.query<{ one: number }>('select 1 as one'));
    assert.deepEqual(rows, [{ one: 1 }]);
  });
});

describe('ledger serve when PostgreSQL cuts its connections (e2e)', async () => {
  const skip = await postgres.skip();
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  before(async () => {
    if (skip) return;
    await admin.connect();
    await admin.query(`create schema ${schema}`);
  });
  after(async () => {
    if (skip) return;
    await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
  });

  test('stays up, ready again, and the next delivery is appended', { skip }, async () => {
    const url = new URL(POSTGRES_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    url.searchParams.set('application_name', schema);
    const served = await startLedgerProcess(['serve'], { DATABASE_URL: url.toString() });
    try {
      const send = async (id: string) => {
        const event: Json = { ...fixture('invoice.paid'), id };
        const payload = JSON.stringify(event);
        return (await fetch(`${served.url}/webhooks/stripe`, { method: 'POST', headers: signedStripeHeaders(payload), body: payload })).status;
      };
      assert.equal(await send('evt_cut_before'), 200);
      // Every session the service holds, its LISTENs and the projectors' included.
      assert.ok((await terminate('application_name = $1', [schema])) >= 2);
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(served.child.exitCode, null, served.output());
      await until('ready again', async () => (await fetch(`${served.url}/health/ready`)).ok);
      // The provider's retry of a delivery refused meanwhile, or a new one: appended.
      await until('a delivery appended', async () => (await send('evt_cut_after')) === 200);
      assert.equal(served.child.exitCode, null, served.output());
    } finally {
      served.child.kill('SIGTERM');
      assert.equal(await served.exited, 0, served.output());
    }
  });
});
