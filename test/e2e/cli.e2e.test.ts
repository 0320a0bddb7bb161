import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';

// The `ledger` command through its npm bin shim, as a user runs it.
const ledger = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['bin/ledger.js', ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });

describe('ledger CLI (e2e)', () => {
  test('help lists the commands and exits 0', () => {
    for (const args of [['help'], ['--help'], []]) {
      const result = ledger(args);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /ledger serve/);
    }
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
});
