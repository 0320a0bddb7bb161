import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { CONFIG_VARIABLES } from '../../contracts/config.ts';
import { DOCTOR_VARIABLES } from '../../contracts/doctorEnv.ts';
import { openDatabase } from '../../services/eventstore/openDatabase.ts';
import { runDoctor } from '../../services/operations/doctorChecks.ts';
import type { CheckResult, DoctorContext, DoctorStore } from '../../services/operations/doctorResult.ts';
import { fingerprintOf } from '../../services/operations/secretFingerprints.ts';
import { recordHistories } from '../support/customerHistories.ts';
import { databaseTargets, POSTGRES_URL, whileTablesLocked } from '../support/databases.ts';
import { migratedDataDir } from '../support/migratedDataDir.ts';
import { freePort, startLedgerProcess } from '../support/servedProcess.ts';
import { startTestApp, TEST_ENV, type TestApp } from '../support/testApp.ts';

// `ledger doctor`: a healthy production-like setup passes every check; each broken condition
// fails its own check (and only the checks it should); and the command itself, against a
// running `ledger serve`, reports and exits accordingly.

const LIVE = {
  NODE_ENV: 'production',
  STRIPE_WEBHOOK_SECRET: 'whsec_9sK2mQ7vX4pL1tR8wN3bY6cH5zJ0aE2d',
  HUBSPOT_CLIENT_SECRET: '3f8a1c2e-7b9d-4e6f-a0b1-c2d3e4f5a6b7',
  ZENDESK_WEBHOOK_SECRET: 'dGhpc2lzYXJhbmRvbXNlY3JldHZhbHVlMTIz',
  LEDGER_API_KEYS: 'a1b2c3d4e5f60718293a4b5c6d7e8f90:app,0f9e8d7c6b5a49382716051a2b3c4d5e:admin',
  LEDGER_RATE_LIMIT_STRIPE_PER_SECOND: '0',
  LOG_LEVEL: 'silent',
};
// Staging's own, different secrets.
const STAGING_FINGERPRINTS = ['whsec_staging_other', 'crm-staging', 'zendesk-staging'].map((s, i) => `${['stripe', 'crm', 'support'][i]}:${fingerprintOf(s)}`).join(',');

// This process's environment without any setting doctor reads: each command test gives its own.
const BASE_ENV: Record<string, string | undefined> = { ...process.env };
for (const name of [...CONFIG_VARIABLES, ...DOCTOR_VARIABLES, 'LEDGER_API_KEY']) delete BASE_ENV[name];

// `ledger doctor` in its own process, without blocking this one (it may call the test app here).
function doctorCommand(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/ledger.js', 'doctor', ...args], { env: { ...BASE_ENV, ...env }, timeout: 30_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const failing = (results: CheckResult[]) => results.filter((r) => r.status === 'fail').map((r) => r.name).sort();
const statusOf = (results: CheckResult[], name: string) => results.find((r) => r.name === name)?.status;

async function listening<T extends Server | ReturnType<typeof createTcpServer>>(server: T): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

for (const target of databaseTargets) {
  describe(`ledger doctor checks on ${target.name} (e2e)`, async () => {
    const skip = await target.skip();
    let t: TestApp;
    let env: Record<string, string>;
    const broker = createTcpServer((socket) => socket.end());
    let context: (changes?: Record<string, string | undefined>, store?: DoctorStore) => DoctorContext;

    before(async () => {
      if (skip) return;
      t = await startTestApp(target, { env: LIVE });
      const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
      env = { ...LIVE, LEDGER_URL: address, KAFKA_BROKERS: `127.0.0.1:${await listening(broker)}`, LEDGER_PEER_SECRET_FINGERPRINTS: STAGING_FINGERPRINTS };
      context = (changes = {}, store = { kind: 'direct', db: t.db }) => {
        const merged: Record<string, string | undefined> = { ...env, ...changes };
        return { env: merged, store };
      };
    });
    after(async () => {
      broker.close();
      if (!skip) await t.close();
    });

    test('a healthy setup passes every check', { skip }, async () => {
      await recordHistories(t.db.store, 3);
      await t.projector.catchUp();
      const results = await runDoctor(context());
      assert.deepEqual(failing(results), [], JSON.stringify(results, null, 2));
      for (const name of ['configuration valid', 'required secrets present', 'no test keys in production', 'secrets not shared with the other environment', 'store reachable and migrated', 'webhooks reject unsigned deliveries', 'projection lag under threshold', 'parked events under threshold', 'kafka reachable']) {
        assert.equal(statusOf(results, name), 'pass', name);
      }
      assert.equal(statusOf(results, 'no long-open transactions'), target.name === 'postgres' ? 'pass' : 'skip');
    });

    test('a missing secret fails, naming the variable and how to get it', { skip }, async () => {
      const results = await runDoctor(context({ ZENDESK_WEBHOOK_SECRET: undefined }));
      assert.deepEqual(failing(results), ['configuration valid', 'required secrets present']);
      const check = results.find((r) => r.name === 'required secrets present')!;
      assert.match(check.detail, /ZENDESK_WEBHOOK_SECRET/);
      assert.match(check.fix ?? '', /Zendesk Admin Center/);
      assert.deepEqual(failing(await runDoctor(context({ LEDGER_API_KEYS: undefined }))), ['required secrets present']);
    });

    test('a test key fails in production, and only there', { skip }, async () => {
      const webhook = await runDoctor(context({ STRIPE_WEBHOOK_SECRET: 'whsec_test_9sK2mQ7vX4pL1tR8wN3bY6cH5' }));
      assert.deepEqual(failing(webhook), ['no test keys in production']);
      assert.doesNotMatch(JSON.stringify(webhook), /9sK2mQ7vX4pL1tR8wN3bY6cH5/);
      assert.deepEqual(failing(await runDoctor(context({ STRIPE_API_KEY: 'sk_test_4eC39HqLyjWDarjtT1zdp7dc' }))), ['configuration valid', 'no test keys in production']);
      const development = await runDoctor(context({ NODE_ENV: 'development', STRIPE_WEBHOOK_SECRET: 'whsec_test_9sK2mQ7vX4pL1tR8wN3bY6cH5' }));
      assert.equal(statusOf(development, 'no test keys in production'), 'skip');
      assert.deepEqual(failing(development), []);
    });

    test('a secret shared with the other environment fails, compared by fingerprint only', { skip }, async () => {
      const peers = `${STAGING_FINGERPRINTS},api_key.1:${fingerprintOf(LIVE.STRIPE_WEBHOOK_SECRET).slice(0, 12)}`;
      const results = await runDoctor(context({ LEDGER_PEER_SECRET_FINGERPRINTS: peers }));
      assert.deepEqual(failing(results), ['secrets not shared with the other environment']);
      assert.match(results.find((r) => r.status === 'fail')!.detail, /stripe \(theirs: api_key\.1\)/);
      assert.doesNotMatch(JSON.stringify(results), new RegExp(LIVE.STRIPE_WEBHOOK_SECRET));

      const dir = mkdtempSync(join(tmpdir(), 'ledger-doctor-'));
      try {
        const file = join(dir, 'production.fingerprints');
        writeFileSync(file, `# from production\ncrm:${fingerprintOf(LIVE.HUBSPOT_CLIENT_SECRET)}\n`);
        const fromFile = await runDoctor(context({ LEDGER_PEER_SECRET_FINGERPRINTS: undefined, LEDGER_PEER_FINGERPRINTS_FILE: file }));
        assert.deepEqual(failing(fromFile), ['secrets not shared with the other environment']);
        assert.match(fromFile.find((r) => r.status === 'fail')!.detail, /shared: crm$/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const unset = await runDoctor(context({ LEDGER_PEER_SECRET_FINGERPRINTS: undefined }));
      assert.equal(statusOf(unset, 'secrets not shared with the other environment'), 'skip');
    });

    test('a store that is not migrated, or not reachable, fails', { skip }, async () => {
      const bare = target.name === 'pglite'
        ? await openDatabase({ dataDir: 'memory://', migrate: false })
        : await openDatabase({ databaseUrl: POSTGRES_URL, schema: `t_${randomUUID().replaceAll('-', '').slice(0, 12)}`, migrate: false });
      try {
        const results = await runDoctor(context({}, { kind: 'direct', db: bare }));
        assert.deepEqual(failing(results), ['store reachable and migrated']);
        assert.match(results.find((r) => r.status === 'fail')!.detail, /pending: 0001/);
        assert.equal(statusOf(results, 'projection lag under threshold'), 'skip');
      } finally {
        if (bare.sql.kind === 'postgres') await bare.sql.exec(`drop schema if exists "${(await bare.sql.query<{ s: string }>('select current_schema() as s')).rows[0]!.s}" cascade`);
        await bare.close();
      }
      const gone = await runDoctor(context({}, { kind: 'unavailable', detail: 'cannot open DATABASE_URL', fix: 'check DATABASE_URL' }));
      assert.deepEqual(failing(gone), ['store reachable and migrated']);
    });

    test('an endpoint that accepts an unsigned webhook fails; no service is a skip', { skip }, async () => {
      const accepting = createHttpServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}'));
      const port = await listening(accepting);
      try {
        const results = await runDoctor(context({ LEDGER_URL: `http://127.0.0.1:${port}` }));
        assert.deepEqual(failing(results), ['webhooks reject unsigned deliveries']);
        assert.match(results.find((r) => r.status === 'fail')!.detail, /\/webhooks\/stripe answered 200/);
      } finally {
        accepting.close();
      }
      const nobody = await runDoctor(context({ LEDGER_URL: `http://127.0.0.1:${await freePort()}` }));
      assert.equal(statusOf(nobody, 'webhooks reject unsigned deliveries'), 'skip');
    });

    test('a service with no secret for a source refuses its deliveries too, and doctor names the variable to set', { skip }, async () => {
      const unconfigured = await startTestApp(target, { env: { STRIPE_WEBHOOK_SECRET: '', HUBSPOT_CLIENT_SECRET: '' } });
      try {
        const address = await unconfigured.app.listen({ port: 0, host: '127.0.0.1' });
        const results = await runDoctor(context({ LEDGER_URL: address }));
        const check = results.find((r) => r.name === 'webhooks reject unsigned deliveries')!;
        assert.equal(check.status, 'fail');
        assert.equal(check.detail, `the service at ${address} has no secret for /webhooks/stripe (STRIPE_WEBHOOK_SECRET), /webhooks/crm (HUBSPOT_CLIENT_SECRET): it refuses every delivery from there`);
        assert.doesNotMatch(check.fix ?? '', /proxy/);
      } finally {
        await unconfigured.close();
      }
    });

    test('projection lag and parked events over their thresholds fail', { skip }, async () => {
      await recordHistories(t.db.store, 2, 100);
      await new Promise((r) => setTimeout(r, 50));
      const lagging = await runDoctor(context({ LEDGER_DOCTOR_MAX_LAG_SECONDS: '0' }));
      assert.deepEqual(failing(lagging), ['projection lag under threshold']);
      await t.projector.catchUp();
      assert.deepEqual(failing(await runDoctor(context({ LEDGER_DOCTOR_MAX_LAG_SECONDS: '0' }))), []);

      await t.db.sql.query(`insert into ledger_parked_events (projection, position, event_id, customer_id, reason, error) values ('crm', 1, $1, 'cust_parked', 'failed', 'boom')`, [randomUUID()]);
      const parked = await runDoctor(context());
      assert.deepEqual(failing(parked), ['parked events under threshold']);
      assert.match(parked.find((r) => r.status === 'fail')!.detail, /1 parked: crm 1/);
      assert.deepEqual(failing(await runDoctor(context({ LEDGER_DOCTOR_MAX_PARKED: '1' }))), []);
      await t.db.sql.query(`update ledger_parked_events set status = 'skipped' where customer_id = 'cust_parked'`);
    });

    test('a delivery still unmatched past the retry window fails, with the redeliver command; younger ones and matched ones pass', { skip }, async () => {
      const keep = (hoursAgo: number) =>
        t.db.sql.query<{ id: string }>(
          `insert into ledger_inbox (source, received_at, verified, headers, body, outcome, correlation_id)
           values ('stripe', now() - make_interval(hours => $1::int), true, '{}', '{}', 'unmatched', $2) returning id::text as id`,
          [hoursAgo, randomUUID()],
        );
      await keep(1);
      assert.equal(statusOf(await runDoctor(context()), 'no unmatched deliveries past the retry window'), 'pass');
      const old = (await keep(80)).rows[0]!.id;
      const results = await runDoctor(context());
      assert.deepEqual(failing(results), ['no unmatched deliveries past the retry window']);
      const check = results.find((r) => r.status === 'fail')!;
      assert.match(check.detail, /^1 unmatched for more than 72 h \(oldest received .*\); 1 younger still tried by the service$/);
      assert.match(check.fix ?? '', /^`ledger unmatched` lists them .*ledger redeliver --since \d{4}-/);
      assert.deepEqual(failing(await runDoctor(context({ LEDGER_UNMATCHED_RETRY_HOURS: '96' }))), []);
      await t.db.sql.query(`update ledger_inbox set matched_at = now() where id = $1::bigint`, [old]);
      assert.deepEqual(failing(await runDoctor(context())), []);
      await t.db.sql.query(`update ledger_inbox set matched_at = now() where outcome = 'unmatched'`);
    });

    test('a transaction left open longer than the threshold fails (PostgreSQL)', { skip: skip ?? (target.name !== 'postgres' && 'PostgreSQL only') }, async () => {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        await client.query('begin');
        await client.query('select txid_current()');
        await new Promise((r) => setTimeout(r, 1_200));
        const results = await runDoctor(context({ LEDGER_DOCTOR_MAX_TRANSACTION_SECONDS: '1' }));
        assert.deepEqual(failing(results), ['no long-open transactions']);
        await client.query('rollback');
        assert.deepEqual(failing(await runDoctor(context({ LEDGER_DOCTOR_MAX_TRANSACTION_SECONDS: '1' }))), []);
      } finally {
        await client.end();
      }
    });

    test('a store that does not answer fails the checks that need it within LEDGER_DOCTOR_QUERY_TIMEOUT_SECONDS, and the command exits 1 instead of waiting (PostgreSQL)', { skip: skip ?? (target.name !== 'postgres' && 'PostgreSQL only') }, async () => {
      // Another session holds two tables; the others answer.
      await whileTablesLocked(t.db, ['ledger_inbox', 'ledger_parked_events'], async (url) => {
        const started = Date.now();
        const result = await doctorCommand(['--json'], { ...env, DATABASE_URL: url, LEDGER_DOCTOR_QUERY_TIMEOUT_SECONDS: '1' });
        const seconds = (Date.now() - started) / 1_000;
        assert.equal(result.status, 1, result.stdout + result.stderr);
        assert.ok(seconds < 20, `doctor took ${seconds} s`);
        assert.equal(result.stderr, '', 'nothing but the report: no warning from the PostgreSQL driver either');
        const report = JSON.parse(result.stdout) as { ok: boolean; checks: CheckResult[] };
        assert.deepEqual(failing(report.checks), ['no unmatched deliveries past the retry window', 'parked events under threshold', 'projection lag under threshold']);
        for (const check of report.checks.filter((r) => r.status === 'fail')) {
          assert.equal(check.detail, 'the store did not answer within 1 s (LEDGER_DOCTOR_QUERY_TIMEOUT_SECONDS)', check.name);
          assert.match(check.fix ?? '', /pg_locks/);
        }
        for (const name of ['store reachable and migrated', 'no long-open transactions', 'webhooks reject unsigned deliveries']) assert.equal(statusOf(report.checks, name), 'pass', name);
      });
    });

    test('an unreachable Kafka broker fails; none configured is a skip', { skip }, async () => {
      const closed = await freePort();
      const results = await runDoctor(context({ KAFKA_BROKERS: `${env.KAFKA_BROKERS},127.0.0.1:${closed}` }));
      assert.deepEqual(failing(results), ['kafka reachable']);
      assert.match(results.find((r) => r.status === 'fail')!.detail, new RegExp(`127\\.0\\.0\\.1:${closed} \\(ECONNREFUSED\\)`));
      assert.equal(statusOf(await runDoctor(context({ KAFKA_BROKERS: undefined })), 'kafka reachable'), 'skip');
    });

    test('a doctor setting it cannot read fails, and the defaults are used for the rest', { skip }, async () => {
      const results = await runDoctor(context({ LEDGER_DOCTOR_MAX_LAG_SECONDS: 'soon' }));
      assert.deepEqual(failing(results), ['doctor settings']);
      assert.match(results[0]!.detail, /LEDGER_DOCTOR_MAX_LAG_SECONDS: must be an integer/);
      assert.match(results.find((r) => r.name === 'projection lag under threshold')!.detail, /at most 60 s/);
    });
  });
}

describe('ledger doctor as a command (e2e, against ledger serve on the embedded store)', async () => {
  const dataDir = await migratedDataDir('ledger-doctor-');
  let served: Awaited<ReturnType<typeof startLedgerProcess>>;
  const doctor = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, ['bin/ledger.js', 'doctor', ...args], { env: { ...BASE_ENV, ...TEST_ENV, LEDGER_DATA_DIR: dataDir, ...env }, encoding: 'utf8', timeout: 60_000 });

  before(async () => {
    served = await startLedgerProcess(['serve'], { LEDGER_DATA_DIR: dataDir });
  });
  after(async () => {
    served.child.kill('SIGTERM');
    await served.exited;
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('passes, reaching the store through the service; exit 0', () => {
    const result = doctor([], { LEDGER_URL: served.url, LEDGER_API_KEY: 'key-viewer' });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    for (const name of ['store reachable and migrated', 'webhooks reject unsigned deliveries', 'projection lag under threshold', 'parked events under threshold']) {
      assert.match(result.stdout, new RegExp(`^PASS  ${name}`, 'm'));
    }
    assert.match(result.stdout, /^SKIP  kafka reachable +not configured/m);
    assert.match(result.stdout, /0 failed/);
  });

  test('the service holds the embedded store but answers elsewhere: the store check fails saying so, the files are not opened', async () => {
    const result = doctor(['--json'], { LEDGER_URL: `http://127.0.0.1:${await freePort()}` });
    assert.equal(result.status, 1, result.stdout + result.stderr);
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: CheckResult[] };
    const store = report.checks.find((r) => r.name === 'store reachable and migrated')!;
    assert.equal(store.status, 'fail');
    assert.match(store.detail, new RegExp(`^the embedded store .* is held by process ${served.child.pid}, and no service answers at http://127\\.0\\.0\\.1:\\d+$`));
    assert.match(store.fix ?? '', /^set LEDGER_URL to where that ledger serve listens/);
    assert.equal(result.stderr, '');
    assert.equal((await fetch(`${served.url}/health/ready`)).status, 200, 'the service goes on');
  });

  test('fails with a fix hint and exit 1 when a secret is missing; never prints a secret', () => {
    const result = doctor(['--json'], { LEDGER_URL: served.url, ZENDESK_WEBHOOK_SECRET: '' });
    assert.equal(result.status, 1);
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: CheckResult[] };
    assert.equal(report.ok, false);
    assert.deepEqual(failing(report.checks), ['required secrets present']);
    assert.equal(statusOf(report.checks, 'projection lag under threshold'), 'skip', 'no key: says how to get status, does not guess');
    for (const secret of [TEST_ENV.HUBSPOT_CLIENT_SECRET, 'whsec_test_current', 'key-admin']) assert.ok(!result.stdout.includes(secret));
  });

  test('a key the service refuses fails the projection checks, naming LEDGER_API_KEY', () => {
    for (const [key, status] of [['key-nobody-issued', 401], ['key-app', 403]] as const) {
      const result = doctor(['--json'], { LEDGER_URL: served.url, LEDGER_API_KEY: key });
      assert.equal(result.status, 1, result.stdout + result.stderr);
      const report = JSON.parse(result.stdout) as { ok: boolean; checks: CheckResult[] };
      assert.deepEqual(failing(report.checks), ['parked events under threshold', 'projection lag under threshold'], key);
      for (const check of report.checks.filter((r) => r.status === 'fail')) {
        assert.match(check.detail, new RegExp(`/admin/projections answered ${status}: .*LEDGER_API_KEY`), key);
        assert.match(check.fix ?? '', /^set LEDGER_API_KEY to a key .* with the viewer scope/, key);
      }
    }
  });

  test('colour on a terminal only while NO_COLOR is unset or empty', () => {
    // A terminal as far as doctor can tell: stdout says it is one.
    const onTerminal = (noColor: string) =>
      spawnSync(process.execPath, ['--import', 'data:text/javascript,process.stdout.isTTY=true', 'bin/ledger.js', 'doctor'], {
        env: { ...BASE_ENV, ...TEST_ENV, LEDGER_DATA_DIR: dataDir, LEDGER_URL: served.url, LEDGER_API_KEY: 'key-viewer', NO_COLOR: noColor },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const coloured = onTerminal('');
    assert.equal(coloured.status, 0, coloured.stdout + coloured.stderr);
    assert.match(coloured.stdout, /^\x1b\[32mPASS\x1b\[0m  store reachable/m);
    const plain = onTerminal('1');
    assert.equal(plain.status, 0, plain.stdout + plain.stderr);
    assert.match(plain.stdout, /^PASS  store reachable/m);
    assert.ok(!plain.stdout.includes('\x1b['), plain.stdout);
  });

  test('--fingerprints prints what the other environment compares against, and comparing with it fails', () => {
    const printed = doctor(['--fingerprints'], {});
    assert.equal(printed.status, 0);
    const line = printed.stdout.trim();
    assert.ok(line.includes(`stripe:${fingerprintOf('whsec_test_current')}`));
    assert.ok(line.includes(`stripe.2:${fingerprintOf('whsec_test_previous')}`));
    assert.ok(line.includes(`support:${fingerprintOf(TEST_ENV.ZENDESK_WEBHOOK_SECRET)}`));
    assert.ok(!line.includes('whsec_test_current') && !line.includes(TEST_ENV.ZENDESK_WEBHOOK_SECRET));

    const shared = doctor([], { LEDGER_URL: served.url, LEDGER_API_KEY: 'key-viewer', LEDGER_PEER_SECRET_FINGERPRINTS: line });
    assert.equal(shared.status, 1);
    assert.match(shared.stdout, /^FAIL  secrets not shared with the other environment +shared: stripe, stripe\.2, crm, support, api_key\.1/m);
    assert.match(shared.stdout, /^ {6}fix: issue a new secret/m);
  });
});
