import { and, assign, setup, transition } from 'xstate';
import type { ReviewReason } from '../contracts/events/decisions.ts';
import { LIFECYCLE_STATES, type LifecycleState } from '../contracts/events/vocabulary.ts';
import { factGuards, type FactGuardName, type LifecycleContext, type LifecycleEvent, type LiveSubscription } from './factGuards.ts';
import { FACT_CASES, LIFECYCLE_TABLE, type FactCaseName, type ReviewableState } from './lifecycleTable.ts';

// The customer lifecycle as an XState machine, generated from LIFECYCLE_TABLE. It is only ever
// evaluated with `transition()`: no actor, and its one action (`flag`) is a pure assign.

const lifecycleSetup = setup({
  types: {
    context: {} as LifecycleContext,
    events: {} as LifecycleEvent,
  },
  guards: {
    ...factGuards,
    overrideTo: ({ event }, params: { to: LifecycleState }) =>
      event.type === 'ManualOverrideApplied' && event.data.to === params.to,
  },
  actions: {
    flag: assign((_, params: { reason: ReviewReason }) => ({ reviewReason: params.reason })),
  },
});

type MachineConfig = Parameters<typeof lifecycleSetup.createMachine>[0];
type StateConfig = NonNullable<MachineConfig['states']>[string];
type TransitionsByEvent = NonNullable<StateConfig['on']>;
type SingleTransition<T> = Exclude<T, string | undefined | readonly unknown[]>;
type TransitionConfig = SingleTransition<TransitionsByEvent[keyof TransitionsByEvent]>;
type OverrideTransition = SingleTransition<TransitionsByEvent['ManualOverrideApplied']>;

const factCaseNames = Object.keys(FACT_CASES) as FactCaseName[];

function factTransitions(state: ReviewableState): Record<string, TransitionConfig[]> {
  const on: Record<string, TransitionConfig[]> = {};
  for (const name of factCaseNames) {
    const { type, guards } = FACT_CASES[name];
    const outcome = LIFECYCLE_TABLE[name][state];
    if (outcome.kind === 'stay') continue;
    // A lone guard stays a plain name so the machine reads (and visualises) as the table does.
    const [only, ...more] = guards;
    const guard = only === undefined ? undefined : more.length === 0 ? only : and<LifecycleContext, LifecycleEvent, FactGuardName[]>([...guards]);
    const config: TransitionConfig =
      outcome.kind === 'to'
        ? { target: outcome.to, guard }
        : { target: 'needs_review', guard, actions: { type: 'flag', params: { reason: outcome.reason } } };
    (on[type] ??= []).push(config);
  }
  return on;
}

// An audited override may set any state but the current one; into needs_review it flags.
function overrideTransitions(from: LifecycleState): OverrideTransition[] {
  return LIFECYCLE_STATES.filter((to) => to !== from).map((to) => ({
    target: to,
    guard: { type: 'overrideTo', params: { to } },
    ...(to === 'needs_review' ? { actions: { type: 'flag', params: { reason: 'manual_review' } } } : {}),
  }));
}

function stateConfig(state: LifecycleState): StateConfig {
  const facts = state === 'needs_review' ? {} : factTransitions(state);
  return { on: { ...facts, ManualOverrideApplied: overrideTransitions(state) } };
}

export const lifecycleMachine = lifecycleSetup.createMachine({
  id: 'customerLifecycle',
  initial: 'lead',
  context: { subscriptionId: null, reviewReason: null, liveSubscriptions: [], paymentKnown: false },
  states: Object.fromEntries(LIFECYCLE_STATES.map((state) => [state, stateConfig(state)])),
});

export interface LifecycleVerdict {
  to: LifecycleState;
  // Present when `to` is needs_review.
  reviewReason: ReviewReason | null;
}

export function evaluateLifecycle(
  from: LifecycleState,
  subscriptionId: string | null,
  event: LifecycleEvent,
  liveSubscriptions: readonly LiveSubscription[] = [],
  paymentKnown = false,
): LifecycleVerdict {
  if (event.type === 'ManualOverrideApplied') return machineVerdict(from, subscriptionId, event, liveSubscriptions, paymentKnown);
  // The machine's answer depends on the state, the fact type and which named guards hold, and
  // nothing else (its one action assigns a fixed reason), so it is asked once per combination:
  // a transition costs ~30 µs, the guards a few hundred nanoseconds.
  const context: LifecycleContext = { subscriptionId, reviewReason: null, liveSubscriptions, paymentKnown };
  let key = `${from}|${event.type}|`;
  for (const guard of GUARD_NAMES) key += factGuards[guard]({ context, event }) ? '1' : '0';
  let verdict = verdicts.get(key);
  if (verdict === undefined) {
    verdict = Object.freeze(machineVerdict(from, subscriptionId, event, liveSubscriptions, paymentKnown));
    verdicts.set(key, verdict);
  }
  return verdict;
}

const GUARD_NAMES = Object.keys(factGuards) as FactGuardName[];
// Bounded by states x fact types x guard combinations that occur: a few hundred at most.
const verdicts = new Map<string, Readonly<LifecycleVerdict>>();

// The machine itself, every time (manual overrides, and the test that holds the two equal).
export function machineVerdict(
  from: LifecycleState,
  subscriptionId: string | null,
  event: LifecycleEvent,
  liveSubscriptions: readonly LiveSubscription[],
  paymentKnown = false,
): LifecycleVerdict {
  const snapshot = lifecycleMachine.resolveState({ value: from, context: { subscriptionId, reviewReason: null, liveSubscriptions, paymentKnown } });
  const [next] = transition(lifecycleMachine, snapshot, event);
  const to = LIFECYCLE_STATES.find((state) => next.matches(state));
  if (to === undefined) throw new Error(`Lifecycle machine reached an unknown state ${JSON.stringify(next.value)}`);
  return { to, reviewReason: next.context.reviewReason };
}
