import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultReadModelOptions } from '../../projections/readModels.ts';
import { renderState } from '../../services/cli/state.ts';
import { stateAt } from '../../services/operations/stateAt.ts';
import { facts, recordFact } from './lifecycleFixtures.ts';
import { CUSTOMER, recordStream } from './recordedStreams.ts';

// `ledger state` at 3 a.m.: a customer holding a plan and an add-on shows both, so "why is
// this customer still active after the cancellation?" is answered on the screen.

test('ledger state lists the subscriptions held beside the current one', () => {
  const stream = recordStream([
    recordFact(facts.subscriptionActivated(1, 'sub_main')),
    recordFact(facts.subscriptionActivated(2, 'sub_addon')),
    recordFact(facts.subscriptionCanceled(3, 'sub_addon')),
  ]);
  const text = renderState(stateAt(CUSTOMER, stream, undefined, defaultReadModelOptions), false);
  assert.match(text, /lifecycle +active/);
  assert.match(text, /subscription +sub_main active/);
  assert.match(text, /also +sub_addon canceled 49\.00 usd/);
});
