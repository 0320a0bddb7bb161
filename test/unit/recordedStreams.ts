import { domainEvent, type DomainEvent, type FactEvent } from '../../contracts/domainEvents.ts';
import type { Actor, RecordedEvent } from '../../contracts/eventMetadata.ts';
import { customerDecider, type CustomerCommand } from '../../domain/customerDecider.ts';
import type { CustomerDecider } from '../../services/operations/replay.ts';

// Streams as the service records them (each command's events appended together, decisions
// right after their fact), built in memory with a given decider: "yesterday's rules".

export const CUSTOMER = 'cust_replay1';
export const admin: Actor = { id: 'apikey:admin', role: 'admin' };
export const support: Actor = { id: 'apikey:support', role: 'support' };

const at = (minute: number) => `2026-02-01T10:${String(minute).padStart(2, '0')}:00Z`;

export function recordStream(commands: CustomerCommand[], decider: CustomerDecider = customerDecider, customerId = CUSTOMER): RecordedEvent[] {
  let state = decider.initialState;
  const recorded: RecordedEvent[] = [];
  const history: DomainEvent[] = [];
  commands.forEach((command, i) => {
    const now = at(i);
    const decided = decider.decide(command, state, { now, history: [...history] });
    history.push(...decided);
    state = decided.reduce(decider.evolve, state);
    for (const event of decided) {
      const version = recorded.length + 1;
      recorded.push({
        ...event,
        eventId: `evt-${customerId}-${version}`,
        streamId: `customer-${customerId}`,
        version,
        position: BigInt((i + 1) * 4096 + version),
        recordedAt: now,
        metadata: {
          customerId,
          occurredAt: 'occurredAt' in event.data && typeof event.data.occurredAt === 'string' ? event.data.occurredAt : now,
          source: command.type === 'RecordFact' ? 'stripe' : 'admin',
          ...(command.type === 'RecordFact' ? { sourceEventId: `evt_src_${i}` } : { actor: command.actor }),
          correlationId: `corr-${i}`,
        },
      });
    }
  });
  return recorded;
}

export const fact = (event: FactEvent): CustomerCommand => ({ type: 'RecordFact', fact: event });

const plan = { priceId: 'price_pro', nickname: 'Pro' };
export const trial = (minute: number) => fact(domainEvent('TrialStarted', { occurredAt: at(minute), subscriptionId: 'sub_1', plan, mrrCents: 0, currency: 'usd' }));
export const activated = (minute: number) =>
  fact(domainEvent('SubscriptionActivated', { occurredAt: at(minute), subscriptionId: 'sub_1', plan, mrrCents: 4900, currency: 'usd' }));
export const paid = (minute: number) =>
  fact(domainEvent('PaymentSucceeded', { occurredAt: at(minute), subscriptionId: 'sub_1', invoiceId: `in_${minute}`, amountCents: 4900, currency: 'usd' }));
export const refunded = (minute: number) =>
  fact(domainEvent('RefundIssued', { occurredAt: at(minute), chargeId: `ch_${minute}`, chargeAmountCents: 4900, refundedAmountCents: 4900, currency: 'usd' }));
export const lead = (minute: number) => fact(domainEvent('LeadCaptured', { occurredAt: at(minute), email: 'ada@example.com', channel: 'app' }));

// A rule change: a full refund no longer takes access away (and a refund for a lead is no
// longer a review case). Everything else as today.
export const refundsChangeNothing: CustomerDecider = {
  ...customerDecider,
  decide: (command, state, context) =>
    command.type === 'RecordFact' && command.fact.type === 'RefundIssued' ? [command.fact] : customerDecider.decide(command, state, context),
};
