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
