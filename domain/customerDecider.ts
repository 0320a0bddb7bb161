import type { DomainEvent } from '../contracts/domainEvents.ts';
import { decide, type CustomerCommand, type DecideContext } from './customerCommands.ts';
import { evolve, initialState, type CustomerState } from './customerState.ts';

// The decider is data (Emmett's shape): the service layer loads with `evolve` from
// `initialState`, calls `decide`, and appends what it returns with the expected version.
export interface Decider<Command, Event, State, Context> {
  decide(command: Command, state: State, context: Context): Event[];
  evolve(state: State, event: Event): State;
  initialState: State;
}

export const customerDecider: Decider<CustomerCommand, DomainEvent, CustomerState, DecideContext> = {
  decide,
  evolve,
  initialState,
};

export type { CustomerCommand, DecideContext, RecordFact, ApplyManualOverride } from './customerCommands.ts';
export type { CustomerState } from './customerState.ts';
export { orderingKey } from './ordering.ts';
// Whether `decide` needs the customer's recorded events for a command (DecideContext.history).
export { historyNeeded } from './customerCommands.ts';
