import { instruments } from './instruments.ts';

// Support routing health by customer segment: a VIP, a plan, or no plan. A support event that
// parks (failed, or held behind a failed one of the same customer) means that customer's
// tickets stop being created or rerouted in the read model the desk syncs from; a ticket event
// applied means routing works. The streak is what the "failing more than 3 times in a row" alert
// reads; it lives in this process (a restart starts it at zero, the counter keeps the history).

const TICKET_EVENTS = new Set(['TicketOpened', 'TicketUpdated', 'TicketClosed']);
const SEGMENT_MAX_LENGTH = 64;

const field = (value: unknown, key: string): unknown => (typeof value === 'object' && value !== null ? Reflect.get(value, key) : undefined);

// A support profile document's segment. Plan names come from the price catalogue (a bounded
// set), never from a customer.
export function segmentOf(supportDoc: unknown): string {
  if (field(supportDoc, 'vip') === true) return 'vip';
  const plan = field(supportDoc, 'plan');
  return typeof plan === 'string' && plan.length > 0 ? plan.slice(0, SEGMENT_MAX_LENGTH) : 'none';
}

export const isTicketEventType = (type: string): boolean => TICKET_EVENTS.has(type);

export type TicketOutcome = { segment: string; outcome: 'routed' | 'failed' };

const streaks = new Map<string, number>();

// In the order the events were applied or parked.
export function recordTicketOutcomes(outcomes: readonly TicketOutcome[]): void {
  const { ticketEvents, ticketFailureStreak } = instruments();
  for (const { segment, outcome } of outcomes) {
    ticketEvents.add(1, { segment, outcome });
    const streak = outcome === 'routed' ? 0 : (streaks.get(segment) ?? 0) + 1;
    streaks.set(segment, streak);
    ticketFailureStreak.record(streak, { segment });
  }
}

export function resetTicketStreaks(): void {
  streaks.clear();
}
