import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LIFECYCLE_STATES } from '../../contracts/domainEvents.ts';
import type { LiveSubscription } from '../../domain/factGuards.ts';
import { evaluateLifecycle, machineVerdict } from '../../domain/lifecycleMachine.ts';
import { FACT_CASES, type FactCaseName } from '../../domain/lifecycleTable.ts';
import { ADDON, KNOWN, OTHER, sampleFact } from './lifecycleFixtures.ts';

// evaluateLifecycle asks the machine once per (state, fact type, guards that hold) and answers
// from what it said before: it must answer exactly what the machine would, in every context the
// guards tell apart (which subscription is current, which others are live and how).

const lives: LiveSubscription[][] = [
  [],
  [{ id: KNOWN, meaning: 'active' }],
  [{ id: ADDON, meaning: 'active' }],
  [{ id: ADDON, meaning: 'pastDue' }],
  [{ id: ADDON, meaning: 'trialing' }],
  [
    { id: KNOWN, meaning: 'pastDue' },
    { id: ADDON, meaning: 'trialing' },
  ],
];

test('the remembered verdicts are the machine verdicts, for every state, fact case and context', () => {
  let compared = 0;
  for (const from of LIFECYCLE_STATES) {
    for (const name of Object.keys(FACT_CASES) as FactCaseName[]) {
      const fact = sampleFact(name, 30);
      for (const current of [KNOWN, OTHER, null]) {
        for (const live of lives) {
          for (const paid of [false, true]) {
            const expected = machineVerdict(from, current, fact, live, paid);
            // The first call may ask the machine; the second answers from memory.
            assert.deepEqual(evaluateLifecycle(from, current, fact, live, paid), expected, `${from} + ${name}, current ${current}, live ${JSON.stringify(live)}, paid ${paid}`);
            assert.deepEqual(evaluateLifecycle(from, current, fact, live, paid), expected, `${from} + ${name} again`);
            compared += 1;
          }
        }
      }
    }
  }
  assert.equal(compared, LIFECYCLE_STATES.length * Object.keys(FACT_CASES).length * 3 * lives.length * 2);
});
