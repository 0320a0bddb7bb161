import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StatementGroup } from '../../services/eventstore/statementGroup.ts';

// Concurrent deliveries' inbox rows and command-context reads share statements through this.

test('calls made while a statement is in flight go out together, each answered with its own output', async () => {
  const statements: number[][] = [];
  const group = new StatementGroup<number, number>(async (inputs) => {
    statements.push(inputs);
    await new Promise((resolve) => setTimeout(resolve, 10));
    return inputs.map((n) => n * 10);
  }, 4);
  const outputs = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => group.submit(n)));
  assert.deepEqual(outputs, [10, 20, 30, 40, 50, 60]);
  // The first leaves alone at once; the rest queued behind it, at most four per statement.
  assert.deepEqual(statements, [[1], [2, 3, 4, 5], [6]]);
});

test('a failed statement fails every call in it, and the next statement still runs', async () => {
  let calls = 0;
  const group = new StatementGroup<string, string>(async (inputs) => {
    calls += 1;
    if (calls === 1) throw new Error('connection lost');
    return inputs;
  });
  const failed = await Promise.allSettled([group.submit('a')]);
  assert.equal(failed[0]!.status, 'rejected');
  assert.equal(await group.submit('b'), 'b');
});

test('an answer with fewer rows than calls is an error for every call, not a wrong answer', async () => {
  const group = new StatementGroup<string, string>(async (inputs) => inputs.slice(1));
  await assert.rejects(group.submit('a'), /answered 0 of 1 calls/);
});
