#!/usr/bin/env node
// `npm test [-- paths…]`: Node 20's `--test` does not expand globs (Node 21+ does), and a shell
// glob misses nested folders, so list the test files here and hand them to node's runner.
// Paths (folders or files) narrow the run: `npm test -- test/unit`.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = process.argv.length > 2 ? process.argv.slice(2) : ['test'];
const isTest = (file) => /\.test\.ts$/.test(file);
// Fast and pure first, so a broken rule shows before a slow suite runs.
const kinds = ['.unit.', '.int.', '.e2e.'];
const rank = (file) => {
  const index = kinds.findIndex((kind) => file.includes(kind));
  return index < 0 ? kinds.length : index;
};

const files = roots
  .flatMap((root) =>
    statSync(root).isDirectory()
      ? readdirSync(root, { recursive: true }).map((f) => join(root, String(f))).filter(isTest)
      : [root],
  )
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));

if (files.length === 0) {
  console.error(`no *.test.ts files under ${roots.join(', ')}`);
  process.exit(1);
}

// One file at a time: the race and concurrency tests should contend with themselves, not with
// another file's load on the same Postgres.
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
  stdio: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
