import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { subcommands } from '../../services/cli/main.ts';
import { databaseTargets, POSTGRES_URL } from '../support/databases.ts';
import { migratedDataDir } from '../support/migratedDataDir.ts';
import { freePort } from '../support/servedProcess.ts';

// The `ledger` command through its npm bin shim, as a user runs it.
const ledger = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['bin/ledger.js', ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });

// The same, several at once.
const ledgerAsync = (args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(process.execPath, ['bin/ledger.js', ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });

describe('ledger CLI (e2e)', async () => {
  test('help lists the commands and exits 0', () => {
    for (const args of [['help'], ['--help'], []]) {
      const result = ledger(args);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /ledger serve/);
    }
  });

  test('<command> --help (or -h, anywhere) prints that command’s usage and exits 0, starting and opening nothing', async () => {
    // A store nobody answers at: a command that started or opened anything would exit 1.
    const env = { DATABASE_URL: `postgres://ledger@127.0.0.1:${await freePort()}/ledger`, PORT: '0' };
    const asked = await Promise.all([
      ...Object.keys(subcommands).map((name) => ledgerAsync([name, '--help'], env)),
      ledgerAsync(['serve', '-h'], env),
      ledgerAsync(['redeliver', '9999', '--json', '-h'], env),
      ledgerAsync(['parked', 'skip', '42', '--help', '--reason', 'x'], env),
    ]);
    for (const result of asked) {
      const name = /^Usage:\n {2}ledger ([\w-]+)/.exec(result.stdout)?.[1] ?? '?';
      assert.equal(result.status, 0, `${name}: ${result.stderr}`);
      assert.equal(result.stderr, '', name);
      assert.ok(result.stdout.includes(subcommands[name]?.usage.split('\n')[0] ?? '(no usage)'), result.stdout);
    }
    assert.deepEqual(asked.map((r) => /ledger ([\w-]+)/.exec(r.stdout)?.[1]), [...Object.keys(subcommands), 'serve', 'redeliver', 'parked']);
    const one = ledger(['help', 'state']);
    assert.equal(one.status, 0, one.stderr);
    assert.match(one.stdout, /^Usage:\n {2}ledger state <customer> \[--at <version \| ISO time>\] \[--json\]\n/);
    // After `--` a -h is an argument: the command runs (and here cannot reach its store).
    assert.notEqual(ledger(['events', '--', '-h'], env).status, 0);
  });

  test('replay: a --since it cannot read is a usage error (2), and so is failing to run; 1 is kept for "decisions differ"', async () => {
    const garbage = ledger(['replay', '--all', '--since', 'garbage']);
    assert.equal(garbage.status, 2, garbage.stderr);
    assert.match(garbage.stderr, /^ledger: --since garbage: give an ISO 8601 time or an age such as 90m, 6h, 2d\n\nUsage: ledger replay/);
    const port = await freePort();
    const unreachable = ledger(['replay', '--all'], { DATABASE_URL: `postgres://ledger@127.0.0.1:${port}/ledger` });
    assert.equal(unreachable.status, 2, unreachable.stderr);
    assert.equal(unreachable.stderr, `ledger: cannot reach PostgreSQL at 127.0.0.1:${port} (ECONNREFUSED): is it running, and is DATABASE_URL right?\n`);
  });

  test('an unknown command exits 2 with the usage', () => {
    const result = ledger(['frobnicate']);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown command 'frobnicate'/);
    assert.match(result.stderr, /ledger serve/);
  });

  test('serve refuses a bad configuration, naming the variable and not the value', () => {
    const result = ledger(['serve'], { NODE_ENV: 'production', STRIPE_API_KEY: 'sk_test_do_not_print_me', PORT: 'none' });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /STRIPE_API_KEY: holds a Stripe test-mode key/);
    assert.match(result.stderr, /PORT: must be an integer/);
    assert.match(result.stderr, /STRIPE_WEBHOOK_SECRET: is required when NODE_ENV=production/);
    assert.doesNotMatch(result.stderr + result.stdout, /do_not_print_me|at .*\.ts:/);
  });

  test('PostgreSQL out of reach at start: one line saying where and what to check, never the password', async () => {
    const port = await freePort();
    for (const args of [['serve'], ['events', 'stripe:cus_x']]) {
      const result = ledger(args, { DATABASE_URL: `postgres://ledger:s3cret-pw@127.0.0.1:${port}/ledger`, PORT: '0' });
      assert.equal(result.status, 1, result.stderr);
      assert.equal(result.stderr, `ledger: cannot reach PostgreSQL at 127.0.0.1:${port} (ECONNREFUSED): is it running, and is DATABASE_URL right?\n`);
      assert.doesNotMatch(result.stdout + result.stderr, /s3cret-pw/);
    }
  });

  test('relay --once with no broker answering: gives up within seconds, in one line naming KAFKA_BROKERS, no stack', async () => {
    const [brokerPort, servicePort] = [await freePort(), await freePort()];
    // The embedded store (CI sets DATABASE_URL): an existing one, as the relay only reads a store.
    const dataDir = await migratedDataDir('ledger-cli-relay-');
    try {
      const started = Date.now();
      const result = ledger(['relay', '--once'], {
        DATABASE_URL: '',
        LEDGER_DATA_DIR: dataDir,
        LEDGER_URL: `http://127.0.0.1:${servicePort}`,
        KAFKA_BROKERS: `127.0.0.1:${brokerPort}`,
      });
      const seconds = (Date.now() - started) / 1_000;
      assert.equal(result.status, 1, result.stderr);
      // The long-running relay's patience (~2.5 minutes of retries) is for a broker restarting
      // under it; an operator running one batch by hand wants the answer.
      assert.ok(seconds < 20, `took ${seconds} s`);
      const lines = result.stderr.trimEnd().split('\n');
      assert.equal(
        lines.at(-1),
        `ledger: cannot reach Kafka at 127.0.0.1:${brokerPort} (Connection error: connect ECONNREFUSED 127.0.0.1:${brokerPort}): is the broker running, and is KAFKA_BROKERS right?`,
      );
      // Before it: kafkajs's retries, one JSON warning each, without the socket's stack.
      for (const line of lines.slice(0, -1)) assert.equal((JSON.parse(line) as { level: string; stack?: string }).stack, undefined, line);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('an embedded store directory this process cannot use (a file in its place): one line saying what to do, no stack', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-cli-file-'));
    const file = join(dir, 'not-a-directory');
    writeFileSync(file, '');
    try {
      for (const dataDir of [file, join(file, 'store')]) {
        const result = ledger(['serve'], { DATABASE_URL: '', LEDGER_DATA_DIR: dataDir, PORT: '0' });
        assert.equal(result.status, 1, result.stderr);
        assert.match(result.stderr, /^ledger: the embedded store's directory .* cannot be used by this process \((EEXIST|ENOTDIR)\): make it writable by this user .*\n$/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const postgres = databaseTargets.find((t) => t.name === 'postgres')!;
  test('a database not created, or a login refused: one line naming it (PostgreSQL)', { skip: await postgres.skip() }, () => {
    const url = new URL(POSTGRES_URL);
    url.pathname = '/ledger_no_such_database';
    const missing = ledger(['serve'], { DATABASE_URL: url.toString(), PORT: '0' });
    assert.equal(missing.status, 1, missing.stderr);
    assert.equal(missing.stderr, `ledger: database "ledger_no_such_database" does not exist on ${url.hostname}:${url.port || '5432'}: create it (createdb ledger_no_such_database) or fix DATABASE_URL\n`);
    const nobody = new URL(POSTGRES_URL);
    nobody.username = 'ledger_no_such_role';
    const refused = ledger(['serve'], { DATABASE_URL: nobody.toString(), PORT: '0' });
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /^ledger: PostgreSQL at .* refused the login of "ledger_no_such_role" \(.*\): check the user and password in DATABASE_URL\n$/);
  });
});
