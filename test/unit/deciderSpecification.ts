import assert from 'node:assert/strict';
import type { Decider } from '../../domain/customerDecider.ts';

// given events / when command / then events (after Emmett's testing/deciderSpecification.ts).
export function deciderSpecification<Command, Event, State, Context>(
  decider: Decider<Command, Event, State, Context>,
  context: Context,
) {
  return {
    given(history: readonly Event[]) {
      const state = history.reduce(decider.evolve, decider.initialState);
      return {
        when(command: Command) {
          const decided = () => decider.decide(command, state, context);
          return {
            then(expected: readonly Event[], message?: string) {
              assert.deepEqual(decided(), expected, message);
            },
            thenThrows(code: string) {
              assert.throws(decided, (error: unknown) => {
                assert.equal((error as { code?: unknown }).code, code);
                return true;
              });
            },
          };
        },
      };
    },
  };
}
