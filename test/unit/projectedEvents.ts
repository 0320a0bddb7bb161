import type { Actor } from '../../contracts/eventMetadata.ts';
import { domainEvent, type DomainEvent, type FactEvent } from '../../contracts/domainEvents.ts';
import type { LifecycleState, OverrideAction } from '../../contracts/events/vocabulary.ts';
import { decide } from '../../domain/customerCommands.ts';
import { evolve, initialState, type CustomerState } from '../../domain/customerState.ts';
import type { ProjectedEvent, ReadModel } from '../../projections/projection.ts';

// Builds what the projection runtime feeds a read model, with the real domain: each fact (or
// override) goes through `decide`, and every event it yields is folded with `evolve` into the
// before/after states, placed at the next global position, and tagged with the command's
// correlation id. Several customers share one log, so positions interleave as in production.

export interface Override {
  override: OverrideAction;
  to?: LifecycleState;
  reason?: string;
  at: string;
  actor?: Actor;
}

export class TestLedger {
  private position = 0;
  private commands = 0;
  private readonly states = new Map<string, CustomerState>();
  private readonly versions = new Map<string, number>();

  stateOf(customerId: string): CustomerState {
    return this.states.get(customerId) ?? initialState;
  }

  // Decides like handleCommand does, and returns the appended events as a projection sees them.
  record(customerId: string, step: FactEvent | Override): ProjectedEvent[] {
    this.commands += 1;
    const correlationId = `corr-${this.commands}`;
    const state = this.stateOf(customerId);
    const events =
      'override' in step
        ? decide(
            { type: 'ApplyManualOverride', action: step.override, to: step.to, reason: step.reason ?? 'checked by hand', actor: step.actor ?? { id: 'usr_admin', role: 'admin' } },
            state,
            { now: step.at },
          )
        : decide({ type: 'RecordFact', fact: step }, state, { now: step.data.occurredAt });
    return this.append(customerId, events, correlationId);
  }

  // Appends events as given (no decision), for sequences the decider would not produce.
  append(customerId: string, events: DomainEvent[], correlationId = `corr-raw-${this.position + 1}`): ProjectedEvent[] {
    return events.map((event) => {
      const before = this.stateOf(customerId);
      const after = evolve(before, event);
      this.states.set(customerId, after);
      this.position += 1;
      const streamVersion = (this.versions.get(customerId) ?? 0) + 1;
      this.versions.set(customerId, streamVersion);
      const occurredAt = occurredAtOf(event);
      return {
        event,
        eventId: `evt-${String(this.position).padStart(6, '0')}`,
        customerId,
        position: String(this.position),
        streamVersion,
        occurredAt,
        recordedAt: occurredAt,
        correlationId,
        before,
        after,
      };
    });
  }

  // Records several steps for one customer, returning all their events in order.
  history(customerId: string, steps: (FactEvent | Override)[]): ProjectedEvent[] {
    return steps.flatMap((step) => this.record(customerId, step));
  }
}

function occurredAtOf(event: DomainEvent): string {
  return 'occurredAt' in event.data ? event.data.occurredAt : event.data.cause.occurredAt;
}

export interface Step<Doc> {
  input: ProjectedEvent;
  doc: Doc | undefined;
  // False when apply returned the same document reference (the runtime writes nothing).
  changed: boolean;
}

// Feeds events to a read model the way the runtime does: per-customer documents, one shared
// document, in log order.
export function runReadModel<Doc, Shared, Options>(
  model: ReadModel<Doc, Shared, Options>,
  options: Options,
  inputs: readonly ProjectedEvent[],
  start: { docs?: Map<string, Doc>; shared?: Shared } = {},
): { docs: Map<string, Doc>; shared: Shared; steps: Step<Doc>[] } {
  const docs = new Map(start.docs);
  let shared = start.shared ?? model.initialShared;
  const steps: Step<Doc>[] = [];
  for (const input of inputs) {
    const previous = docs.get(input.customerId);
    const result = model.apply(previous, input, { options, shared });
    shared = result.shared;
    if (result.doc !== undefined) docs.set(input.customerId, result.doc);
    steps.push({ input, doc: result.doc, changed: result.doc !== previous });
  }
  return { docs, shared, steps };
}

// A document as the runtime stores it and reads it back: through JSON (no undefined survives)
// with its keys reordered, as jsonb does.
export function asStored<T>(value: T): T {
  return JSON.parse(JSON.stringify(value), (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
  ) as T;
}

// Facts in time: `day(3)` is 2026-03-03, `day(3, 14)` at 14:00 UTC.
export const day = (n: number, hour = 0): string => `2026-03-${String(n).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00Z`;

export const plans = {
  basic: { priceId: 'price_basic', productId: 'prod_1', nickname: 'Basic', interval: 'month' as const },
  pro: { priceId: 'price_pro', productId: 'prod_1', nickname: 'Pro Monthly', interval: 'month' as const },
  team: { priceId: 'price_team', productId: 'prod_2', interval: 'month' as const },
};
type PlanName = keyof typeof plans;
const MRR: Record<PlanName, number> = { basic: 1900, pro: 4900, team: 60000 };

// Stripe and desk facts with sensible defaults; one subscription `sub_<customer>` unless given.
export const fact = {
  lead: (at: string, email = 'ada@example.com') => domainEvent('LeadCaptured', { occurredAt: at, email, firstName: 'Ada', lastName: 'Lovelace' }),
  trialStarted: (at: string, plan: PlanName, subscriptionId = 'sub_1', trialEndsAt = '2026-03-15T00:00:00Z') =>
    domainEvent('TrialStarted', { occurredAt: at, subscriptionId, plan: plans[plan], mrrCents: MRR[plan], currency: 'usd', trialEndsAt }),
  activated: (at: string, plan: PlanName, subscriptionId = 'sub_1') =>
    domainEvent('SubscriptionActivated', { occurredAt: at, subscriptionId, plan: plans[plan], mrrCents: MRR[plan], currency: 'usd' }),
  changed: (at: string, plan: PlanName, status: 'active' | 'past_due' | 'canceled' | 'trialing', subscriptionId = 'sub_1') =>
    domainEvent('SubscriptionChanged', { occurredAt: at, subscriptionId, plan: plans[plan], status, mrrCents: MRR[plan], currency: 'usd' }),
  // `subscriptionId: null` is a payment without a subscription (a one-off, or checkout ahead of it).
  paid: (at: string, amountCents = 4900, subscriptionId: string | null = 'sub_1') =>
    domainEvent('PaymentSucceeded', { occurredAt: at, invoiceId: `in_${at}`, subscriptionId: subscriptionId ?? undefined, amountCents, currency: 'usd' }),
  paymentFailed: (at: string, amountCents = 4900, subscriptionId = 'sub_1') =>
    domainEvent('PaymentFailed', { occurredAt: at, invoiceId: `in_${at}`, subscriptionId, amountCents, currency: 'usd', attemptCount: 1 }),
  canceled: (at: string, subscriptionId = 'sub_1') => domainEvent('SubscriptionCanceled', { occurredAt: at, subscriptionId }),
  refunded: (at: string, amountCents = 4900, subscriptionId = 'sub_1') =>
    domainEvent('RefundIssued', { occurredAt: at, chargeId: `ch_${at}`, subscriptionId, chargeAmountCents: amountCents, refundedAmountCents: amountCents, currency: 'usd' }),
  disputed: (at: string, subscriptionId = 'sub_1') =>
    domainEvent('DisputeOpened', { occurredAt: at, disputeId: `dp_${at}`, chargeId: `ch_${at}`, subscriptionId, amountCents: 4900, currency: 'usd' }),
  ticketOpened: (at: string, ticketId: string, subject: string, tags: string[] = [], priority?: 'low' | 'normal' | 'high' | 'urgent') =>
    domainEvent('TicketOpened', { occurredAt: at, ticketId, subject, status: 'new', priority, via: 'email', tags }),
  ticketUpdated: (at: string, ticketId: string, change: { status?: 'new' | 'open' | 'pending' | 'hold' | 'solved' | 'closed'; subject?: string; tags?: string[] }) =>
    domainEvent('TicketUpdated', { occurredAt: at, ticketId, ...change }),
  ticketClosed: (at: string, ticketId: string, status: 'solved' | 'closed' = 'solved') => domainEvent('TicketClosed', { occurredAt: at, ticketId, status }),
};
