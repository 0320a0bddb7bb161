import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

// CI runs `npm test`; a file that keeps its process alive after its tests must fail the run with
// its name, not leave CI silent until its time limit (it happened: a Kafka producer left open).
test('a test file that never exits fails the run within the silence limit, and is named', () => {
  const started = Date.now();
  // Without NODE_TEST_CONTEXT: it would make the nested runner report to this one and exit.
  const { NODE_TEST_CONTEXT: _context, ...env } = process.env;
  const run = spawnSync(process.execPath, ['scripts/runTests.js', 'test/fixtures/runner/leaksHandle.ts'], {
    env: { ...env, LEDGER_TEST_SILENCE_MS: '3000' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(run.status, 1, run.stdout + run.stderr);
  assert.match(run.stdout, /ok 1 - passes, and leaves a timer running/, 'its test did pass');
  assert.match(run.stderr, /no test output for 3 s; still running: .*test\/fixtures\/runner\/leaksHandle\.ts/);
  assert.ok(Date.now() - started < 30_000, 'ended by the watchdog, not by the spawn timeout');
});
