import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { migratedDataDir } from '../support/migratedDataDir.ts';
import { freePort } from '../support/servedProcess.ts';

// The 3 a.m. trap: the service stopped (or LEDGER_URL pointing elsewhere), the command run from
// another directory. Opening the embedded store there created an empty one, and every command
// answered from it as if all were well: "0 customers, no difference" (exit 0), nothing parked,
// no lag, nothing waiting.
const ledger = (args: string[], env: Record<string, string>) => {
  const { DATABASE_URL: _url, LEDGER_API_KEY: _key, ...inherited } = process.env;
  return spawnSync(process.execPath, ['bin/ledger.js', ...args], { env: { ...inherited, ...env }, encoding: 'utf8', timeout: 30_000 });
};

describe('CLI commands on the embedded store with no service answering', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'ledger-cli-store-'));
  const existing = await migratedDataDir('ledger-cli-store-existing-');
  after(() => {
    rmSync(parent, { recursive: true, force: true });
    rmSync(existing, { recursive: true, force: true });
  });

  test('where no store exists: each command refuses in one line, fails, and creates nothing', async () => {
    const dataDir = join(parent, '.ledger');
    const env = { LEDGER_DATA_DIR: dataDir, LEDGER_URL: `http://127.0.0.1:${await freePort()}` };
    const commands = [['replay', '--all'], ['events', 'stripe:cus_x'], ['projections', 'status'], ['unmatched'], ['parked', 'list'], ['projections', 'run', '--once']];
    for (const args of commands) {
      const result = ledger(args, env);
      // replay keeps 1 for "decisions differ": it could not compare.
      assert.equal(result.status, args[0] === 'replay' ? 2 : 1, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
      assert.equal(result.stdout, '', args.join(' '));
      assert.equal(
        result.stderr,
        `ledger: no embedded store in ${dataDir}, and no service answers at ${env.LEDGER_URL}: run this where the service's LEDGER_DATA_DIR is, ` +
          'set LEDGER_URL to the running service (and LEDGER_API_KEY), or DATABASE_URL for PostgreSQL; `ledger serve` creates the store\n',
        args.join(' '),
      );
    }
    assert.equal(existsSync(dataDir), false, 'no store was created');
  });

  test('ledger doctor judges "a store is here" the same way: an empty directory is not one, and it makes none there', async () => {
    const dataDir = join(parent, 'empty');
    mkdirSync(dataDir);
    const env = { LEDGER_DATA_DIR: dataDir, LEDGER_URL: `http://127.0.0.1:${await freePort()}` };
    const result = ledger(['doctor', '--json'], env);
    assert.equal(result.status, 1, result.stderr);
    const store = (JSON.parse(result.stdout) as { checks: { name: string; status: string; detail: string }[] }).checks.find((c) => c.name === 'store reachable and migrated');
    assert.deepEqual([store?.status, store?.detail], ['fail', `no embedded store at ${dataDir} and no service at ${env.LEDGER_URL}`]);
    assert.equal(existsSync(join(dataDir, 'PG_VERSION')), false, 'doctor created no store');
  });

  test('where the store exists, the commands read it', async () => {
    const env = { LEDGER_DATA_DIR: existing, LEDGER_URL: `http://127.0.0.1:${await freePort()}` };
    const replay = ledger(['replay', '--all'], env);
    assert.equal(replay.status, 0, replay.stderr);
    const events = ledger(['events', 'stripe:cus_x'], env);
    assert.equal(events.status, 1);
    assert.match(events.stderr, /No customer matches/);
  });
});
