import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { PROVIDER_FIXTURES } from '../support/providerFixtures.ts';

// The repository's copy of the shared fixtures must stay byte for byte what the shared folder holds
// (they are the providers' payloads, never edited): where that folder is beside the checkout, compare.
const SHARED = join(process.cwd(), '..', 'shared', 'fixtures');

const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)]));

test('the repository\'s provider fixtures are the shared fixtures, byte for byte', { skip: !existsSync(SHARED) && 'no ../shared/fixtures beside this checkout' }, () => {
  const ours = filesUnder(PROVIDER_FIXTURES).map((file) => relative(PROVIDER_FIXTURES, file)).sort();
  assert.deepEqual(ours, filesUnder(SHARED).map((file) => relative(SHARED, file)).sort());
  for (const file of ours) assert.ok(readFileSync(join(PROVIDER_FIXTURES, file)).equals(readFileSync(join(SHARED, file))), file);
});
