import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import type { BatchResult, ProjectionRunner } from '../../services/projector/projectionRunner.ts';
import { Projector } from '../../services/projector/projector.ts';
import { projectorSettings } from '../../services/projector/readModelRunners.ts';
import { loadConfig } from '../../services/config.ts';
import { TEST_ENV } from '../support/testApp.ts';

// When a projector runs a batch: on an append in this process, never later than needed, and
// (with a minimum interval) not once per append while appends keep coming.

const EMPTY: BatchResult = { applied: 0, parked: 0, position: 0n, changedCustomers: [], more: false };

function appendingDatabase() {
  const listeners = new Set<() => void>();
  const db = {
    sql: { kind: 'pglite' },
    store: {
      onAppended(listener: () => void) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
  } as unknown as LedgerDatabase;
  return { db, append: () => listeners.forEach((listener) => listener()) };
}

function countingRunner(batch: (call: number) => Promise<BatchResult>) {
  let calls = 0;
  const runner = {
    readModel: { name: 'app' },
    runBatch: () => batch((calls += 1)),
    backoffMs: () => 10,
  } as unknown as ProjectionRunner<unknown>;
  return { runner, calls: () => calls };
}

test('an append that commits while a batch is running starts another batch, not the next poll', async () => {
  const { db, append } = appendingDatabase();
  const { runner, calls } = countingRunner(async (call) => {
    // The first batch has read the log when an append commits.
    if (call === 1) {
      await sleep(20);
      append();
      await sleep(20);
    }
    return EMPTY;
  });
  const projector = new Projector(db, [runner], { pollIntervalMs: 60_000 });
  await projector.start();
  try {
    await sleep(200);
    assert.equal(calls(), 2);
  } finally {
    await projector.stop();
  }
});

test('with a minimum interval, a stream of appends is applied in spaced batches', async () => {
  const { db, append } = appendingDatabase();
  const { runner, calls } = countingRunner(async () => EMPTY);
  const projector = new Projector(db, [runner], { pollIntervalMs: 60_000, minIntervalMs: 100 });
  await projector.start();
  try {
    // 60 appends over about 300 ms: one batch per append without spacing.
    for (let i = 0; i < 60; i += 1) {
      append();
      await sleep(5);
    }
    assert.ok(calls() >= 2 && calls() <= 6, `${calls()} batches`);
  } finally {
    await projector.stop();
  }
});

// On PGlite the projector and ingest share one connection: batches that take long (a slow
// machine, or waiting behind ingest for the connection) must not follow one another, or
// the read models take it over and ingest collapses (51-73/s against ~240 on machine E).
test('on PGlite, as shipped, slow batches under a stream of appends are spaced by their own duration', async () => {
  const { db, append } = appendingDatabase();
  const { runner, calls } = countingRunner(async () => {
    await sleep(25);
    return EMPTY;
  });
  const projector = new Projector(db, [runner], { ...projectorSettings('pglite', loadConfig(TEST_ENV)), pollIntervalMs: 60_000 });
  await projector.start();
  try {
    const started = performance.now();
    for (let i = 0; i < 120; i += 1) {
      append();
      await sleep(5);
    }
    const elapsed = performance.now() - started;
    // Back to back, a 25 ms batch would run elapsed / 25 times; starting twice its duration
    // after the last one started, about elapsed / 50.
    const allowed = Math.floor(elapsed / 40) + 2;
    assert.ok(calls() <= allowed, `${calls()} batches over ${elapsed.toFixed(0)} ms (at most ${allowed})`);
    assert.ok(calls() >= 2, 'the stream is still projected while it lasts');
  } finally {
    await projector.stop();
  }
});
