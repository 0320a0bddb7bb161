import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPgliteClient } from '../../services/eventstore/pgliteClient.ts';

// The embedded store runs each statement synchronously in the service's thread. Under load the
// event loop must still turn between statements: Node accepts one new connection per turn, and
// when 64 deliveries' statements ran back to back as promise continuations, a burst of new
// connections was accepted one per ~200 ms (the 40th waited 8 s for its first answer).
test('concurrent statements and transactions on the embedded store let the event loop turn between them', async () => {
  const sql = await createPgliteClient('memory://');
  try {
    let done = 0;
    let turnedAfter: number | undefined;
    setImmediate(() => (turnedAfter = done));
    await Promise.all(
      Array.from({ length: 64 }, async (_, caller) => {
        for (let i = 0; i < 3; i += 1) {
          if (caller % 2 === 0) await sql.query('select $1::int as n', [i]);
          else await sql.transaction(async (tx) => tx.query('select $1::int as n', [i]));
          done += 1;
        }
      }),
    );
    assert.equal(done, 192);
    assert.ok(turnedAfter !== undefined && turnedAfter < 8, `the event loop first turned after ${turnedAfter} of 192 statements`);
  } finally {
    await sql.close();
  }
});
