import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CONFIG_VARIABLES } from '../../contracts/config.ts';

// Every variable the service reads is in the README, where a newcomer looks for it
// (LEDGER_PROJECTOR_BATCH_SIZE was read, and documented nowhere).
test('the README names every configuration variable', () => {
  const readme = readFileSync('README.md', 'utf8');
  // `LEDGER_RATE_LIMIT_{STRIPE,CRM}_PER_SECOND` names each of them.
  const named = new Set(
    [...readme.matchAll(/`([A-Z][A-Z0-9_]*)(?:\{([A-Z0-9_,]+)\}([A-Z0-9_]*))?`/g)].flatMap(([, head, options, tail]) =>
      options === undefined ? [head!] : options.split(',').map((option) => `${head}${option}${tail ?? ''}`),
    ),
  );
  assert.deepEqual(CONFIG_VARIABLES.filter((name) => !named.has(name)), []);
});
