import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LedgerError } from '../../domain/errors.ts';
import { defaultReadModelOptions } from '../../projections/readModels.ts';
import { parse, renderState } from '../../services/cli/state.ts';
import { stateAt } from '../../services/operations/stateAt.ts';
import { activated, CUSTOMER, lead, paid, recordStream, trial } from './recordedStreams.ts';

// `ledger state` at 3 a.m.: the text must not read as complete when it is not, and a point in
// time it cannot read says which forms it takes.

test('ledger state warns, in the text too, that events it could not read are left out', () => {
  const stream = recordStream([lead(0), trial(1), activated(2), paid(3)]);
  const payment = stream.find((e) => e.type === 'PaymentSucceeded')!;
  const broken = stream.map((event) => (event === payment ? { ...event, data: { amountCents: 'lots' } } : event));
  const result = stateAt(CUSTOMER, broken, undefined, defaultReadModelOptions);
  assert.deepEqual(result.unreadable, [payment.version]);
  const lines = renderState(result, false).split('\n');
  assert.match(lines[0]!, new RegExp(`^${CUSTOMER} as of version ${stream.length},`));
  assert.equal(
    lines[2],
    `warning: version ${payment.version} is unreadable to this build and left out of this state and the views; \`ledger events ${CUSTOMER}\` shows it`,
  );
  assert.doesNotMatch(renderState(stateAt(CUSTOMER, stream, undefined, defaultReadModelOptions), false), /warning/);
});

test('ledger state --at names the forms it takes', () => {
  assert.throws(
    () => parse([CUSTOMER, '--at', 'yesterday']),
    (error: unknown) => error instanceof LedgerError && error.code === 'LEDGER_VALIDATION' && /^--at yesterday: give a stream version \(12\) or an ISO 8601 time with its offset \(2026-03-01T12:00:00Z\)$/.test(error.message),
  );
  assert.deepEqual(parse([CUSTOMER, '--at', '12']).at, { kind: 'version', version: 12 });
});
