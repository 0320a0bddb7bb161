import { isFactEvent, type DomainEvent, type DomainEventOf } from '../../contracts/domainEvents.ts';
import type { RecordedEvent } from '../../contracts/eventMetadata.ts';
import type { LifecycleState } from '../../contracts/events/vocabulary.ts';
import { customerDecider, type CustomerCommand, type CustomerState, type DecideContext, type Decider } from '../../domain/customerDecider.ts';
import { LedgerError } from '../../domain/errors.ts';
import { readRecorded } from './readableEvent.ts';

// Replay-and-compare: run today's decider over what was recorded and list every place where its
// decision differs from the one recorded then. Only the inputs are replayed — facts, and manual
// overrides as the commands they were — and the state is rebuilt from today's own decisions, so
// a rule change shows what it would have done to each customer's whole history.

export type CustomerDecider = Decider<CustomerCommand, DomainEvent, CustomerState, DecideContext>;

export interface ReplayOptions {
  decider?: CustomerDecider;
  // Compare only inputs recorded at or after this ISO time; earlier ones are folded as recorded.
  since?: string;
}

export interface ReplayDifference {
  customerId: string;
  version: number;
  position: string;
  recordedAt: string;
  occurredAt: string;
  input: string;
  sourceEventId: string | null;
  correlationId: string;
  // Decisions as `LifecycleChanged → active`, `FlaggedForReview: dispute_opened`; [] = none.
  recorded: string[];
  today: string[];
  lifecycleRecorded: LifecycleState;
  lifecycleToday: LifecycleState;
}

export interface CustomerReplay {
  customerId: string;
  // Inputs (facts and overrides) compared.
  checked: number;
  differences: ReplayDifference[];
}

// One input and the decisions appended with it (the same append, right after it); or an event
// this build cannot read at all, which is a difference in itself (an upcaster gone missing).
interface DecidableStep {
  head: RecordedEvent;
  event: DomainEvent;
  decisions: DomainEvent[];
}
type Step = DecidableStep | { head: RecordedEvent; unreadable: string };

export function replayCustomer(customerId: string, events: readonly RecordedEvent[], options: ReplayOptions = {}): CustomerReplay {
  const decider = options.decider ?? customerDecider;
  const since = options.since === undefined ? undefined : Date.parse(options.since);
  let recordedState = customerDecider.initialState;
  let todayState = decider.initialState;
  let checked = 0;
  const differences: ReplayDifference[] = [];
  // What today's decisions have recorded so far: a late fact is decided with it (DecideContext.history).
  const todayHistory: DomainEvent[] = [];

  for (const step of stepsOf(events)) {
    if ('unreadable' in step) {
      if (since !== undefined && Date.parse(step.head.recordedAt) < since) continue;
      checked += 1;
      differences.push({
        ...where(customerId, step.head),
        recorded: [step.head.type],
        today: ['unreadable: LEDGER_EVENT_SCHEMA'],
        lifecycleRecorded: recordedState.lifecycle,
        lifecycleToday: todayState.lifecycle,
      });
      continue;
    }
    const recordedEvents = [step.event, ...step.decisions];
    recordedState = recordedEvents.reduce(customerDecider.evolve, recordedState);
    const command = commandOf(step.event);
    if (command === undefined || (since !== undefined && Date.parse(step.head.recordedAt) < since)) {
      todayState = recordedEvents.reduce(decider.evolve, todayState);
      todayHistory.push(...recordedEvents);
      continue;
    }
    checked += 1;
    const outcome = decideToday(decider, command, step, todayState, todayHistory);
    todayState = outcome.events.reduce(decider.evolve, todayState);
    todayHistory.push(...outcome.events);
    const recorded = step.decisions.map(decisionKey);
    if (!sameList(recorded, outcome.decisions)) {
      differences.push({
        ...where(customerId, step.head),
        recorded,
        today: outcome.decisions,
        lifecycleRecorded: recordedState.lifecycle,
        lifecycleToday: todayState.lifecycle,
      });
    }
  }
  return { customerId, checked, differences };
}

const where = (customerId: string, head: RecordedEvent) => ({
  customerId,
  version: head.version,
  position: head.position.toString(),
  recordedAt: head.recordedAt,
  occurredAt: head.metadata.occurredAt,
  input: head.type,
  sourceEventId: head.metadata.sourceEventId ?? null,
  correlationId: head.metadata.correlationId,
});

function* stepsOf(events: readonly RecordedEvent[]): Generator<Step> {
  let current: DecidableStep | undefined;
  for (const head of events) {
    const reading = readRecorded(head);
    if (!reading.readable) {
      if (current) yield current;
      current = undefined;
      yield { head, unreadable: reading.problem };
      continue;
    }
    const { event } = reading;
    if (isFactEvent(event) || event.type === 'ManualOverrideApplied') {
      if (current) yield current;
      current = { head, event, decisions: [] };
    } else if (current) {
      current.decisions.push(event);
    } else {
      // A decision with no readable input before it cannot be re-decided: it stands as recorded.
      current = { head, event, decisions: [] };
    }
  }
  if (current) yield current;
}

function decideToday(
  decider: CustomerDecider,
  command: CustomerCommand,
  step: DecidableStep,
  state: CustomerState,
  history: readonly DomainEvent[],
): { events: DomainEvent[]; decisions: string[] } {
  // An override is replayed at its own time; a fact's decision does not read the clock.
  const now = step.event.type === 'ManualOverrideApplied' ? step.event.data.occurredAt : step.head.recordedAt;
  try {
    const events = decider.decide(command, state, { now, history });
    return { events, decisions: events.slice(1).map(decisionKey) };
  } catch (error) {
    // Today's rules would refuse this override (e.g. the customer is no longer under review).
    if (error instanceof LedgerError) return { events: [], decisions: [`refused: ${error.code}`] };
    throw error;
  }
}

function commandOf(event: DomainEvent): CustomerCommand | undefined {
  if (event.type === 'ManualOverrideApplied') return overrideCommand(event);
  if (isFactEvent(event)) return { type: 'RecordFact', fact: event };
  return undefined;
}

function overrideCommand(event: DomainEventOf<'ManualOverrideApplied'>): CustomerCommand {
  const { action, to, reason, actor } = event.data;
  return { type: 'ApplyManualOverride', action, reason, actor, ...(to === undefined ? {} : { to }) };
}

// What a decision decided, without where it came from: once a replay has diverged, `from`
// differs on every later step, and that divergence is already reported where it began.
export function decisionKey(event: DomainEvent): string {
  switch (event.type) {
    case 'LifecycleChanged':
      return `LifecycleChanged → ${event.data.to}`;
    case 'FlaggedForReview':
      return `FlaggedForReview: ${event.data.reason}`;
    case 'ReviewResolved':
      return `ReviewResolved → ${event.data.to}`;
    case 'LifecycleRedated':
      return `LifecycleRedated → ${event.data.cause.occurredAt}`;
    default:
      return event.type;
  }
}

const sameList = (a: string[], b: string[]): boolean => a.length === b.length && a.every((item, i) => item === b[i]);
