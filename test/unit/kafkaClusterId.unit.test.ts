import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

// scripts/kafka.sh formats each test broker's storage with a random cluster id. Regression: an
// id starting with '-' (1 in 64) read as an option to Kafka's storage tool, and the broker-restart
// test failed in CI with "--cluster-id: expected one argument".
test('500 cluster ids from scripts/kafka.sh: 16 random bytes in base64url, none read as an option', () => {
  const ids = execFileSync('bash', ['scripts/kafka.sh', 'cluster-id', '500'], { encoding: 'utf8' })
    .trim()
    .split('\n');
  assert.equal(ids.length, 500);
  for (const id of ids) {
    assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/, id);
    assert.equal(Buffer.from(id, 'base64url').length, 16);
  }
  assert.equal(new Set(ids).size, ids.length);
});
