import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitUntil } from '../../services/http/readModelWaiter.ts';
import type { CommitListener, Projector } from '../../services/projector/projector.ts';

// Long-polls (entitlements' waitForVersion, the change feeds) wake on the projector's commits.
// Regression: a commit that landed while a check was still reading was dropped, so the caller
// waited for the next commit or the 1 s poll although its change was already there.

function committingProjector() {
  const listeners = new Set<CommitListener>();
  const projector = {
    onCommitted(listener: CommitListener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  } as unknown as Projector;
  const commit = () => {
    for (const listener of listeners) listener('app', { applied: 1, parked: 0, position: 1n, changedCustomers: [], more: false });
  };
  return { projector, commit };
}

test('a commit that lands during a check is checked again at once, not left to the next poll', async () => {
  const { projector, commit } = committingProjector();
  let visible = false;
  // Reads what is visible when it starts, answers 20 ms later (a query in flight).
  const predicate = async () => {
    const seen = visible;
    await sleep(20);
    return seen;
  };
  // Shorter than the 1 s fallback poll: only the re-check can make this true.
  const waiting = waitUntil(projector, 'app', predicate, 800);
  await sleep(30); // the first check has answered "not yet"
  commit(); // a commit of something else: the check it starts reads before our change lands
  await sleep(5);
  visible = true;
  commit(); // our change, committed while that check is still reading
  assert.equal(await waiting, true);
});

test('without a matching commit the wait ends false at its timeout', async () => {
  const { projector } = committingProjector();
  assert.equal(await waitUntil(projector, 'app', async () => false, 150), false);
});

// A change-feed entry committed behind the transaction fence becomes visible when older
// transactions end, which wakes no projector commit. Regression: such a wait lasted until the
// next commit of that read model or the 1 s poll (the e2e bench's p99 of 170–290 ms at 1,000/s).
test("a change already committed but still fenced ('soon') is checked again within milliseconds", async () => {
  const { projector } = committingProjector();
  const releasedAt = Date.now() + 30;
  const started = Date.now();
  // Shorter than the 1 s fallback poll, and no commit comes: only the quick re-check can end it.
  assert.equal(await waitUntil(projector, 'app', async () => (Date.now() >= releasedAt ? true : 'soon'), 800), true);
  assert.ok(Date.now() - started < 200, `took ${Date.now() - started} ms`);
});

test('a fence held for long is re-checked with backoff, not hundreds of times a second', async () => {
  const { projector } = committingProjector();
  let checks = 0;
  const ended = await waitUntil(
    projector,
    'app',
    async () => {
      checks += 1;
      return 'soon';
    },
    600,
  );
  assert.equal(ended, false);
  // 5, 10, 20, … ms apart: about eight checks in 600 ms (a fixed 5 ms would be 120).
  assert.ok(checks >= 4 && checks <= 12, `${checks} checks`);
});
