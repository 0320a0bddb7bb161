import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import { loadConfig } from '../../services/config.ts';
import { openDatabase } from '../../services/eventstore/openDatabase.ts';
import { buildApp } from '../../services/http/app.ts';
import { databaseTargets, POSTGRES_URL } from '../support/databases.ts';
import { migratedDataDir } from '../support/migratedDataDir.ts';
import { signedStripeHeaders, stripeFixture } from '../support/stripeSigning.ts';
import { startTcpProxy } from '../support/tcpProxy.ts';
import { TEST_ENV } from '../support/testApp.ts';

// The provider's view of an outage: 503 (so it retries), nothing half-stored, and after
// recovery its retry lands exactly once.
const delivery = () => {
  const event = stripeFixture('invoice.paid');
  event.id = `evt_outage_${Date.now()}`;
  const body = JSON.stringify(event);
  return { body, headers: signedStripeHeaders(body) };
};
const config = loadConfig(TEST_ENV);

async function dropSchema(schema: string): Promise<void> {
  const direct = await openDatabase({ databaseUrl: POSTGRES_URL, migrate: false });
  await direct.sql.exec(`drop schema if exists ${schema} cascade`).finally(() => direct.close());
}
const postgres = databaseTargets.find((t) => t.name === 'postgres')!;
const postgresSkip = await postgres.skip();

test('PostgreSQL unreachable: 503 with a stable code; the retry after recovery stores one copy', { skip: postgresSkip }, async () => {
  const url = new URL(POSTGRES_URL);
  const proxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
  const schema = `t_outage_${Date.now().toString(36)}`;
  url.host = `127.0.0.1:${proxy.port}`;
  const db = await openDatabase({ databaseUrl: url.toString(), schema, poolSize: 4 });
  const app = buildApp({ db, config });
  try {
    const { body, headers } = delivery();
    await proxy.cut();
    const refused = await app.inject({ method: 'POST', url: '/webhooks/stripe', headers, payload: body });
    assert.equal(refused.statusCode, 503, refused.body);
    assert.equal(refused.json().code, 'LEDGER_STORE_UNAVAILABLE');
    assert.doesNotMatch(refused.body, /ECONNREFUSED|127\.0\.0\.1|pg-pool|at /);

    await proxy.restore();
    const retried = await app.inject({ method: 'POST', url: '/webhooks/stripe', headers, payload: body });
    assert.equal(retried.statusCode, 200, retried.body);
    const again = await app.inject({ method: 'POST', url: '/webhooks/stripe', headers, payload: body });
    assert.equal(again.json().facts[0].outcome, 'duplicate');
    const { rows } = await db.sql.query<{ n: string }>(`select count(*)::text as n from ledger_deliveries where source_event_id = $1`, [JSON.parse(body).id]);
    assert.equal(rows[0]!.n, '1');
  } finally {
    await app.close();
    await db.sql.exec(`drop schema ${schema} cascade`).catch(() => {});
    await db.close();
    await proxy.close();
  }
});

// A partition or a host gone without a reset: no socket is closed, nothing answers. Without a
// statement timeout the delivery hung until TCP gave up (~15 min, or never for a connection with
// nothing unacknowledged), holding its in-flight slot and its pooled connection all the while.
test('PostgreSQL black-holed: 503 within the statement timeout, not a hang; after a fail-over the retry stores one copy', { skip: postgresSkip }, async () => {
  const url = new URL(POSTGRES_URL);
  const proxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
  const schema = `t_blackhole_${Date.now().toString(36)}`;
  url.host = `127.0.0.1:${proxy.port}`;
  const db = await openDatabase({ databaseUrl: url.toString(), schema, poolSize: 4, queryTimeoutMs: 1_000 });
  const app = buildApp({ db, config });
  const send = async (payload: ReturnType<typeof delivery>) => {
    const answered = app.inject({ method: 'POST', url: '/webhooks/stripe', headers: payload.headers, payload: payload.body });
    const hung = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 15_000).unref());
    const started = performance.now();
    const response = await Promise.race([answered, hung]);
    return { response, seconds: (performance.now() - started) / 1000 };
  };
  try {
    // The pool holds connections through the proxy when the partition begins.
    assert.equal((await send(delivery())).response?.statusCode, 200);
    const lost = delivery();
    proxy.blackHole();
    const refused = await send(lost);
    assert.ok(refused.response, 'answered, not left hanging');
    assert.equal(refused.response.statusCode, 503, refused.response.body);
    assert.equal(refused.response.json().code, 'LEDGER_STORE_UNAVAILABLE');
    assert.ok(refused.seconds < 10, `answered after ${refused.seconds.toFixed(1)} s`);

    // The provider retries; the connections lost in the partition are dropped as they time out.
    proxy.failOver();
    let status: number | undefined;
    for (let attempt = 0; attempt < 10 && status !== 200; attempt += 1) status = (await send(lost)).response?.statusCode;
    assert.equal(status, 200);
    assert.equal((await send(lost)).response?.json().facts[0].outcome, 'duplicate');
    const { rows } = await db.sql.query<{ n: string }>(`select count(*)::text as n from ledger_deliveries where source_event_id = $1`, [JSON.parse(lost.body).id]);
    assert.equal(rows[0]!.n, '1');
  } finally {
    // The proxy first: a statement still hanging on a black-holed connection then fails, and
    // the app and the pool can close.
    await proxy.close();
    await app.close();
    await db.close();
    await dropSchema(schema);
  }
});

// A statement stuck behind a lock another session holds: PostgreSQL cancels it at the statement
// timeout (57014), the delivery gets 503 and its connection stays pooled; once the lock is gone the
// retry lands once. (Left to wait, each retry would have added one more waiting backend.)
test('a delivery stuck behind a lock: 503 at the statement timeout; the retry after the lock is released stores one copy', { skip: postgresSkip }, async () => {
  const schema = `t_locked_${Date.now().toString(36)}`;
  const db = await openDatabase({ databaseUrl: POSTGRES_URL, schema, poolSize: 4, queryTimeoutMs: 1_000 });
  const app = buildApp({ db, config });
  const locker = await openDatabase({ databaseUrl: POSTGRES_URL, schema, poolSize: 1, migrate: false });
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: (pid: number) => void;
  const lockTaken = new Promise<number>((resolve) => (locked = resolve));
  const holding = locker.sql.transaction(async (tx) => {
    await tx.query('lock table ledger_identities in access exclusive mode');
    locked((await tx.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid);
    await released;
  });
  try {
    const lockHolder = await lockTaken;
    const { body, headers } = delivery();
    const started = performance.now();
    const refused = await app.inject({ method: 'POST', url: '/webhooks/stripe', headers, payload: body });
    assert.equal(refused.statusCode, 503, refused.body);
    assert.equal(refused.json().code, 'LEDGER_STORE_UNAVAILABLE');
    assert.ok(performance.now() - started < 5_000);
    const waiting = await db.sql.query<{ n: string }>(
      'select count(*)::text as n from pg_stat_activity where $1::int = any(pg_blocking_pids(pid))',
      [lockHolder],
    );
    assert.equal(waiting.rows[0]!.n, '0', 'nothing left waiting on the lock');

    release();
    await holding;
    const retried = await app.inject({ method: 'POST', url: '/webhooks/stripe', headers, payload: body });
    assert.equal(retried.statusCode, 200, retried.body);
    const { rows } = await db.sql.query<{ n: string }>(`select count(*)::text as n from ledger_deliveries where source_event_id = $1`, [JSON.parse(body).id]);
    assert.equal(rows[0]!.n, '1');
  } finally {
    release();
    await holding.catch(() => {});
    await app.close();
    await locker.close();
    await db.sql.exec(`drop schema ${schema} cascade`).catch(() => {});
    await db.close();
  }
});

const dataDir = await migratedDataDir('ledger-outage-');
after(() => rmSync(dataDir, { recursive: true, force: true }));

test('embedded store closed under the service: 503; after a restart the retry stores one copy', async () => {
  const first = await openDatabase({ dataDir });
  const app = buildApp({ db: first, config });
  const { body, headers } = delivery();
  await first.close();
  const refused = await app.inject({ method: 'POST', url: '/webhooks/stripe', headers, payload: body });
  assert.equal(refused.statusCode, 503, refused.body);
  assert.equal(refused.json().code, 'LEDGER_STORE_UNAVAILABLE');
  await app.close();

  const second = await openDatabase({ dataDir });
  const restarted = buildApp({ db: second, config });
  try {
    const retried = await restarted.inject({ method: 'POST', url: '/webhooks/stripe', headers, payload: body });
    assert.equal(retried.statusCode, 200, retried.body);
    const { rows } = await second.sql.query<{ n: string }>(`select count(*)::text as n from ledger_events`);
    const duplicate = await restarted.inject({ method: 'POST', url: '/webhooks/stripe', headers, payload: body });
    assert.equal(duplicate.json().facts[0].outcome, 'duplicate');
    const after2 = await second.sql.query<{ n: string }>(`select count(*)::text as n from ledger_events`);
    assert.equal(after2.rows[0]!.n, rows[0]!.n, 'the duplicate appended nothing');
  } finally {
    await restarted.close();
    await second.close();
  }
});
