import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { CONFIG_VARIABLES } from '../../contracts/config.ts';
import { loadConfig } from '../../services/config.ts';
import type { LedgerDatabase, Readiness } from '../../services/eventstore/database.ts';
import { buildApp } from '../../services/http/app.ts';
import { databaseTargets, POSTGRES_URL } from '../support/databases.ts';
import { migratedDataDir } from '../support/migratedDataDir.ts';
import { signedStripeHeaders, stripeFixture } from '../support/stripeSigning.ts';
import { STRIPE_TEST_SECRET } from '../support/testApp.ts';

// `ledger serve` as a real process: listens, reports readiness, stops cleanly on SIGTERM.

interface Served {
  url: string;
  child: ChildProcess;
  logs: () => string;
  exited: Promise<number | null>;
}

// The child sees none of this shell's ledger settings, only the ones a test gives it.
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const name of CONFIG_VARIABLES) delete base[name];
  return { ...base, PORT: '0', HOST: '127.0.0.1', NODE_ENV: 'test', LOG_LEVEL: 'info', ...env };
}

// `ledger serve`, or the README's `npm start` (npm and its shell in front of it).
async function serve(env: Record<string, string>, how: 'node' | 'npm start' = 'node'): Promise<Served> {
  const [command, args] = how === 'npm start' ? ['npm', ['start']] : [process.execPath, ['--import', 'tsx', 'services/cli/main.ts', 'serve']];
  const child = spawn(command, args, {
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (listening?.[1]) {
        clearTimeout(timer);
        resolve(listening[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => reject(new Error(`serve exited with ${code}:\n${output}`)));
  });
  return { url, child, exited, logs: () => output };
}

async function stop(served: Served): Promise<number | null> {
  served.child.kill('SIGTERM');
  return served.exited;
}

async function assertHealthy(url: string): Promise<void> {
  const live = await fetch(`${url}/health/live`);
  assert.equal(live.status, 200);
  const ready = await fetch(`${url}/health/ready`);
  assert.equal(ready.status, 200, await ready.clone().text());
  assert.equal(((await ready.json()) as { status: string }).status, 'ready');
}

describe('ledger serve (e2e)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-e2e-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('on the embedded store: ready, then exits 0 on SIGTERM, and restarts on the same data', async () => {
    for (let run = 1; run <= 2; run += 1) {
      const served = await serve({ LEDGER_DATA_DIR: dataDir });
      try {
        await assertHealthy(served.url);
      } finally {
        assert.equal(await stop(served), 0, served.logs());
      }
      assert.match(served.logs(), /"msg":"stopped"/);
      // No webhook secret here: said at start, per source (every delivery would be a 400).
      for (const [variable, path] of [['STRIPE_WEBHOOK_SECRET', '/webhooks/stripe'], ['HUBSPOT_CLIENT_SECRET', '/webhooks/crm'], ['ZENDESK_WEBHOOK_SECRET', '/webhooks/support']]) {
        assert.ok(served.logs().includes(`"msg":"${variable} is not set: every delivery to ${path} is refused (400 LEDGER_SIGNATURE_INVALID) until it is"`), variable);
      }
    }
  });

  test('npm start stops on SIGTERM too: the service does not outlive npm (it went on serving, holding the port and the store)', async () => {
    const served = await serve({ LEDGER_DATA_DIR: dataDir }, 'npm start');
    await assertHealthy(served.url);
    assert.equal(await stop(served), 0, served.logs());
    assert.match(served.logs(), /"msg":"stopped"/);
    assert.equal(await fetch(`${served.url}/health/live`).then(() => 'answered', () => 'closed'), 'closed');
  });

  test('one process at a time on the embedded store: a second ledger serve is refused in one line and the first goes on; once the first is killed outright, the store opens again', async () => {
    const sharedDir = await migratedDataDir('ledger-e2e-lock-');
    try {
      const first = await serve({ LEDGER_DATA_DIR: sharedDir });
      const second = spawnSync(process.execPath, ['--import', 'tsx', 'services/cli/main.ts', 'serve'], { env: cleanEnv({ LEDGER_DATA_DIR: sharedDir }), encoding: 'utf8', timeout: 30_000 });
      assert.equal(second.status, 1, second.stdout + second.stderr);
      assert.match(second.stderr, new RegExp(`^ledger: the embedded store ${sharedDir} is in use by process ${first.child.pid} on .*If no such process runs, delete ${join(sharedDir, 'ledger.lock')}\n$`));
      await assertHealthy(first.url);
      // A port already taken is said in one line too (the usual first-run surprise).
      const port = new URL(first.url).port;
      const samePort = spawnSync(process.execPath, ['--import', 'tsx', 'services/cli/main.ts', 'serve'], { env: cleanEnv({ LEDGER_DATA_DIR: 'memory://', PORT: port }), encoding: 'utf8', timeout: 30_000 });
      assert.equal(samePort.status, 1, samePort.stdout + samePort.stderr);
      assert.equal(samePort.stderr, `ledger: 127.0.0.1:${port} is already in use (another ledger serve, or another program): stop it, or set PORT\n`);

      first.child.kill('SIGKILL');
      await first.exited;
      const next = await serve({ LEDGER_DATA_DIR: sharedDir });
      try {
        await assertHealthy(next.url);
      } finally {
        assert.equal(await stop(next), 0, next.logs());
      }
      assert.equal(existsSync(join(sharedDir, 'ledger.lock')), false, 'released on a clean stop');
    } finally {
      rmSync(sharedDir, { recursive: true, force: true });
    }
  });

  test('SIGTERM under a backlog of deliveries still ends the process within a 10 s grace period', async () => {
    const backlogDir = await migratedDataDir('ledger-e2e-backlog-');
    // No load shedding: the point is a backlog queued behind the embedded store's one connection.
    const served = await serve({ LEDGER_DATA_DIR: backlogDir, STRIPE_WEBHOOK_SECRET: STRIPE_TEST_SECRET, LEDGER_RATE_LIMIT_STRIPE_PER_SECOND: '0', LEDGER_WEBHOOK_MAX_IN_FLIGHT: '0' });
    try {
      // Far more than the embedded store answers in the drain window: they queue on its one connection.
      const flood = Array.from({ length: 1500 }, (_, i) => {
        const body = JSON.stringify({ ...stripeFixture('customer.created'), id: `evt_backlog_${i}`, data: { object: { ...stripeFixture('customer.created').data.object, id: `cus_backlog_${i}` } } });
        return fetch(`${served.url}/webhooks/stripe`, { method: 'POST', headers: signedStripeHeaders(body), body }).then((r) => r.status, () => 0);
      });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const signalled = performance.now();
      served.child.kill('SIGTERM');
      const code = await served.exited;
      const seconds = (performance.now() - signalled) / 1000;
      assert.ok(seconds < 10, `took ${seconds.toFixed(1)} s to stop:\n${served.logs().slice(-2000)}`);
      assert.ok(!served.logs().includes('STRIPE_WEBHOOK_SECRET is not set'), 'a secret that is set is not warned about');
      assert.notEqual(code, null, 'ended by itself, not by a signal');
      const statuses = await Promise.all(flood);
      // Whatever was answered 2xx is stored; nothing else was acknowledged.
      assert.ok(statuses.every((s) => s === 200 || s === 503 || s === 0), `unexpected statuses ${[...new Set(statuses)].join(',')}`);
    } finally {
      if (served.child.exitCode === null) served.child.kill('SIGKILL');
      rmSync(backlogDir, { recursive: true, force: true });
    }
  });

  test('on PostgreSQL (DATABASE_URL): ready, then exits 0 on SIGTERM', async (t) => {
    const postgres = databaseTargets.find((target) => target.name === 'postgres');
    const skip = await postgres?.skip();
    if (skip) return t.skip(skip);
    // A schema of its own, through the URL's search_path, so the test leaves nothing shared.
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    try {
      await admin.query(`create schema ${schema}`);
      const url = new URL(POSTGRES_URL);
      url.searchParams.set('options', `-c search_path=${schema}`);
      const served = await serve({ DATABASE_URL: url.toString() });
      try {
        await assertHealthy(served.url);
      } finally {
        assert.equal(await stop(served), 0, served.logs());
      }
    } finally {
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    }
  });
});

describe('graceful stop (over a real socket)', () => {
  test('close() lets an in-flight request finish, then refuses new ones without waiting on keep-alive', async () => {
    const slowReady = () => new Promise<Readiness>((resolve) => setTimeout(() => resolve({ ok: true, checks: [] }), 500));
    const db: LedgerDatabase = { readiness: slowReady, close: async () => {}, get sql(): never { throw new Error('unused'); }, get store(): never { throw new Error('unused'); } };
    const app = buildApp({ db, config: loadConfig({ LOG_LEVEL: 'silent' }) });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const inFlight = fetch(`${url}/health/ready`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    await app.close();
    const response = await inFlight;
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('connection'), 'close');
    assert.ok(performance.now() - started < 5_000, 'close() waited on an idle keep-alive socket');
    await assert.rejects(fetch(`${url}/health/live`));
  });
});
