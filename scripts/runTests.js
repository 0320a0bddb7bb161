#!/usr/bin/env node
// `npm test [-- paths…]`: Node 20's `--test` does not expand globs (Node 21+ does), and a shell
// glob misses nested folders, so list the test files here and hand them to node's runner.
// Paths (folders or files) narrow the run: `npm test -- test/unit`.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
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

// Two files at a time on two cores (LEDGER_TEST_CONCURRENCY=1: one): most of an integration or
// end-to-end file's time is spent waiting (a spawned service starting, a broker restarting, a
// retry's backoff), and one at a time the suite took 18 minutes on the slowest development
// machine. Every file has its own database schema, ports and topics; the race and concurrency
// tests must hold under a neighbour's load too, as they must on a busy server. Output passes
// through a pipe (for the watchdog below); on a terminal keep the reporter and colours node
// would have chosen for one.
const concurrency = Number(process.env.LEDGER_TEST_CONCURRENCY ?? Math.min(2, availableParallelism()));
const terminal = process.stdout.isTTY ? ['--test-reporter=spec'] : [];
const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...terminal, ...files], {
  env: process.stdout.isTTY ? { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? '1' } : process.env,
  stdio: ['inherit', 'pipe', 'inherit'],
  // Its own process group, so a hang can be ended with every file process under it.
  detached: true,
});
// Detached, so a terminal's Ctrl-C no longer reaches the group by itself: pass it on.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => killGroup(signal));

// A file whose tests all passed but that left a handle open (a socket, a client, a timer) never
// exits, and node's runner waits for it without a word: CI would sit silent until its own limit.
// After LEDGER_TEST_SILENCE_MS (5 minutes) without output, name the file and fail.
const silenceMs = Number(process.env.LEDGER_TEST_SILENCE_MS ?? 300_000);
let lastOutput = Date.now();
let hung = false;
child.stdout.on('data', (chunk) => {
  lastOutput = Date.now();
  process.stdout.write(chunk);
});
const watchdog = setInterval(() => {
  if (hung || Date.now() - lastOutput < silenceMs) return;
  hung = true;
  console.error(
    `\nrunTests: no test output for ${Math.round(silenceMs / 1000)} s; still running: ${[...new Set(runningTestFiles())].join(', ') || 'unknown'}.\n` +
      'A file whose tests finished but left a handle open (a socket, a client not closed, a timer) keeps its process alive.',
  );
  killGroup('SIGTERM');
  setTimeout(() => killGroup('SIGKILL'), 5_000).unref();
}, Math.min(10_000, Math.max(100, silenceMs / 4)));
watchdog.unref();
// 'close', not 'exit': the last piped output (the summary CI reads) has arrived by then.
child.on('close', (code, signal) => process.exit(hung ? 1 : (code ?? (signal ? 1 : 0))));

function killGroup(signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

// The test files the runner's file processes are executing now (Linux /proc; elsewhere none).
function runningTestFiles() {
  try {
    return readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .flatMap((pid) => {
        try {
          const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
          return args.includes('--test') ? [] : files.filter((file) => args.some((arg) => arg.endsWith(file)));
        } catch {
          return [];
        }
      });
  } catch {
    return [];
  }
}
