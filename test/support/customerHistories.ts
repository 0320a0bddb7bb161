import { domainEvent, type FactEvent } from '../../contracts/domainEvents.ts';
import { handleCommand } from '../../services/commands/handleCommand.ts';
import type { EventStore } from '../../services/eventstore/port.ts';

const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString().replace('.000Z', 'Z');

// A realistic life per customer: lead, trial, paid, sometimes a failed payment, a ticket, a refund.
export function historyOf(n: number): FactEvent[] {
  const sub = `sub_h${n}`;
  const plan = { priceId: n % 2 ? 'price_pro' : 'price_basic', nickname: n % 2 ? 'Pro' : 'Basic' };
  const facts: FactEvent[] = [
    domainEvent('LeadCaptured', { occurredAt: at(1), email: `h${n}@example.com`, firstName: `H${n}`, channel: 'app' }),
    domainEvent('TrialStarted', { occurredAt: at(2), subscriptionId: sub, plan, mrrCents: 0, currency: 'usd' }),
    domainEvent('SubscriptionActivated', { occurredAt: at(3), subscriptionId: sub, plan, mrrCents: n % 2 ? 99_00 : 29_00, currency: 'usd' }),
    domainEvent('PaymentSucceeded', { occurredAt: at(4), invoiceId: `in_h${n}a`, subscriptionId: sub, amountCents: 2900, currency: 'usd' }),
    domainEvent('TicketOpened', { occurredAt: at(5), ticketId: `t${n}`, subject: n % 3 ? 'How do I export?' : 'Invoice is wrong', status: 'open', tags: [] }),
  ];
  if (n % 4 === 0) facts.push(domainEvent('PaymentFailed', { occurredAt: at(6), invoiceId: `in_h${n}b`, subscriptionId: sub, amountCents: 2900, currency: 'usd' }));
  if (n % 5 === 0) facts.push(domainEvent('TicketClosed', { occurredAt: at(7), ticketId: `t${n}`, status: 'solved' }));
  if (n % 7 === 0) facts.push(domainEvent('RefundIssued', { occurredAt: at(8), chargeId: `ch_h${n}`, chargeAmountCents: 2900, refundedAmountCents: 2900, currency: 'usd' }));
  return facts;
}

// Appends through the real command path (decisions included), customer by customer.
export async function recordHistories(store: EventStore, customers: number, from = 0): Promise<void> {
  for (let n = from; n < from + customers; n += 1) {
    for (const [i, fact] of historyOf(n).entries()) {
      await handleCommand(
        { store, now: () => new Date('2026-01-02T00:00:00Z') },
        {
          command: { type: 'RecordFact', fact },
          identities: [{ kind: 'app', externalId: `user_h${n}` }],
          createIfMissing: true,
          idempotencyKey: { source: 'app', sourceEventId: `h${n}-${i}` },
          metadata: { source: 'app', sourceEventId: `h${n}-${i}`, correlationId: `corr-h${n}-${i}` },
        },
      );
    }
  }
}
