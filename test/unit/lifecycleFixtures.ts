import { domainEvent, type DomainEvent, type FactEvent } from '../../contracts/domainEvents.ts';
import type { ReviewReason } from '../../contracts/events/decisions.ts';
import type { LifecycleState } from '../../contracts/events/vocabulary.ts';
import type { ApplyManualOverride, DecideContext, RecordFact } from '../../domain/customerCommands.ts';
import { customerDecider, type CustomerCommand, type CustomerState } from '../../domain/customerDecider.ts';
import type { FactCaseName } from '../../domain/lifecycleTable.ts';
import { orderingKey } from '../../domain/ordering.ts';

// Shared vocabulary for the domain's unit tests: a known subscription (sub_1), a new one
// (sub_2), histories that reach each state, and one sample fact per fact case.

export const KNOWN = 'sub_1';
export const OTHER = 'sub_2';
// A second subscription the customer holds beside KNOWN (an add-on), live since second 0.
export const ADDON = 'sub_addon';
export const NOW = '2026-03-01T12:00:00.000Z';
export const at = (second: number) => `2026-02-01T00:00:${String(second).padStart(2, '0')}Z`;
const plan = { priceId: 'price_pro', nickname: 'Pro', interval: 'month' as const };

export const recordFact = (fact: FactEvent): RecordFact => ({ type: 'RecordFact', fact });
export const override = (command: Omit<ApplyManualOverride, 'type'>): ApplyManualOverride => ({ type: 'ApplyManualOverride', ...command });
export const admin = { id: 'usr_admin', role: 'admin' as const };

export const changedTo = (fact: FactEvent, from: LifecycleState, to: LifecycleState) =>
  domainEvent('LifecycleChanged', { from, to, cause: { type: fact.type, occurredAt: fact.data.occurredAt, orderingKey: orderingKey(fact) } });

export const flagged = (fact: FactEvent, from: LifecycleState, reason: ReviewReason) =>
  domainEvent('FlaggedForReview', { reason, from, cause: { type: fact.type, occurredAt: fact.data.occurredAt, orderingKey: orderingKey(fact) } });

// Facts by name, with sensible defaults; `second` places them in time.
export const facts = {
  subscriptionChanged: (second: number, status: 'incomplete' | 'trialing' | 'active' | 'past_due' | 'unpaid' | 'canceled' | 'incomplete_expired' | 'paused', subscriptionId = KNOWN) =>
    domainEvent('SubscriptionChanged', { occurredAt: at(second), subscriptionId, plan, status, mrrCents: 4900, currency: 'usd' }),
  trialStarted: (second: number, subscriptionId = KNOWN) =>
    domainEvent('TrialStarted', { occurredAt: at(second), subscriptionId, plan, trialEndsAt: '2026-02-15T00:00:00Z' }),
  subscriptionActivated: (second: number, subscriptionId = KNOWN) =>
    domainEvent('SubscriptionActivated', { occurredAt: at(second), subscriptionId, plan, mrrCents: 4900, currency: 'usd' }),
  paymentSucceeded: (second: number, subscription: string | null = KNOWN) =>
    domainEvent('PaymentSucceeded', { occurredAt: at(second), invoiceId: `in_${second}`, subscriptionId: subscription ?? undefined, amountCents: 4900, currency: 'usd' }),
  paymentFailed: (second: number, subscription: string | null = KNOWN) =>
    domainEvent('PaymentFailed', { occurredAt: at(second), invoiceId: `in_${second}`, subscriptionId: subscription ?? undefined, amountCents: 4900, currency: 'usd', attemptCount: 1 }),
  renewalFailed: (second: number, subscriptionId = KNOWN) =>
    domainEvent('PaymentFailed', { occurredAt: at(second), invoiceId: `in_${second}`, subscriptionId, amountCents: 4900, currency: 'usd', attemptCount: 1, billingReason: 'subscription_cycle' }),
  subscriptionCanceled: (second: number, subscriptionId = KNOWN) => domainEvent('SubscriptionCanceled', { occurredAt: at(second), subscriptionId }),
  trialWillEnd: (second: number, subscriptionId = KNOWN) => domainEvent('TrialWillEnd', { occurredAt: at(second), subscriptionId, trialEndsAt: '2026-02-15T00:00:00Z' }),
  refundIssued: (second: number, refundedAmountCents = 4900, subscription: string | null = KNOWN) =>
    domainEvent('RefundIssued', { occurredAt: at(second), chargeId: `ch_${second}`, subscriptionId: subscription ?? undefined, chargeAmountCents: 4900, refundedAmountCents, currency: 'usd' }),
  // As charge.refunded sends it: the charge and its invoice, not the subscription.
  chargeRefunded: (second: number, invoiceId: string, refundedAmountCents = 4900) =>
    domainEvent('RefundIssued', { occurredAt: at(second), chargeId: `ch_${invoiceId}`, invoiceId, chargeAmountCents: 4900, refundedAmountCents, currency: 'usd' }),
  disputeOpened: (second: number, subscription: string | null = KNOWN) =>
    domainEvent('DisputeOpened', { occurredAt: at(second), disputeId: `dp_${second}`, chargeId: `ch_${second}`, subscriptionId: subscription ?? undefined, amountCents: 4900, currency: 'usd' }),
};

// One sample fact per case of LIFECYCLE_TABLE, for a customer whose subscription is KNOWN.
export function sampleFact(name: FactCaseName, second: number): FactEvent {
  const occurredAt = at(second);
  switch (name) {
    case 'LeadCaptured': return domainEvent('LeadCaptured', { occurredAt, email: 'ada@example.com', firstName: 'Ada' });
    case 'TrialStarted.newSubscription': return facts.trialStarted(second, OTHER);
    case 'TrialStarted.knownSubscription': return facts.trialStarted(second, KNOWN);
    case 'SubscriptionActivated.newSubscription': return facts.subscriptionActivated(second, OTHER);
    case 'SubscriptionActivated.knownSubscription': return facts.subscriptionActivated(second, KNOWN);
    case 'SubscriptionChanged.trialing.newSubscription': return facts.subscriptionChanged(second, 'trialing', OTHER);
    case 'SubscriptionChanged.trialing.knownSubscription': return facts.subscriptionChanged(second, 'trialing', KNOWN);
    case 'SubscriptionChanged.active.newSubscription': return facts.subscriptionChanged(second, 'active', OTHER);
    case 'SubscriptionChanged.active.knownSubscription': return facts.subscriptionChanged(second, 'active', KNOWN);
    case 'SubscriptionChanged.pastDue.newSubscription': return facts.subscriptionChanged(second, 'past_due', OTHER);
    case 'SubscriptionChanged.pastDue.knownSubscription': return facts.subscriptionChanged(second, 'past_due');
    case 'SubscriptionChanged.canceled.noLiveRemains': return facts.subscriptionChanged(second, 'canceled');
    case 'SubscriptionChanged.canceled.activeRemains':
    case 'SubscriptionChanged.canceled.pastDueRemains':
    case 'SubscriptionChanged.canceled.trialRemains': return facts.subscriptionChanged(second, 'canceled');
    case 'SubscriptionChanged.other': return facts.subscriptionChanged(second, 'incomplete');
    case 'TrialWillEnd': return facts.trialWillEnd(second);
    case 'PaymentSucceeded.newSubscription': return facts.paymentSucceeded(second, OTHER);
    case 'PaymentSucceeded.knownSubscription': return facts.paymentSucceeded(second, KNOWN);
    case 'PaymentSucceeded.oneOff': return facts.paymentSucceeded(second, null);
    case 'PaymentFailed.subscription': return facts.paymentFailed(second);
    case 'PaymentFailed.renewal.newSubscription': return facts.renewalFailed(second, OTHER);
    case 'PaymentFailed.renewal.knownSubscription': return facts.renewalFailed(second);
    case 'PaymentFailed.oneOff': return facts.paymentFailed(second, null);
    case 'SubscriptionCanceled.noLiveRemains': return facts.subscriptionCanceled(second);
    case 'SubscriptionCanceled.activeRemains':
    case 'SubscriptionCanceled.pastDueRemains':
    case 'SubscriptionCanceled.trialRemains': return facts.subscriptionCanceled(second);
    case 'RefundIssued.full.paymentKnown':
    case 'RefundIssued.full.noPaymentKnown': return facts.refundIssued(second, 4900);
    case 'RefundIssued.partial.paymentKnown':
    case 'RefundIssued.partial.noPaymentKnown': return facts.refundIssued(second, 1000);
    case 'DisputeOpened.paymentKnown':
    case 'DisputeOpened.noPaymentKnown': return facts.disputeOpened(second);
    case 'TicketOpened': return domainEvent('TicketOpened', { occurredAt, ticketId: 'tk_1', subject: 'Charged twice', status: 'new', priority: 'high', via: 'email', tags: ['billing'] });
    case 'TicketUpdated': return domainEvent('TicketUpdated', { occurredAt, ticketId: 'tk_1', status: 'pending' });
    case 'TicketClosed': return domainEvent('TicketClosed', { occurredAt, ticketId: 'tk_1', status: 'solved' });
    case 'IdentityLinked': return domainEvent('IdentityLinked', { occurredAt, kind: 'crm', externalId: 'crm_1' });
    case 'IdentityUnlinked': return domainEvent('IdentityUnlinked', { occurredAt, kind: 'crm', externalId: 'crm_1' });
    case 'CustomerProfileUpdated': return domainEvent('CustomerProfileUpdated', { occurredAt, phone: '+44 20 7946 0000' });
    case 'CrmPropertyChanged': return domainEvent('CrmPropertyChanged', { occurredAt, property: 'lifecyclestage', value: 'customer' });
    case 'CustomerDeleted': return domainEvent('CustomerDeleted', { occurredAt, deletedIn: 'stripe' });
  }
}

// Histories (seconds 1-3) that leave the customer in each state with subscription KNOWN.
export function historyTo(state: LifecycleState): DomainEvent[] {
  const activated = facts.subscriptionActivated(1);
  const activeHistory = [activated, changedTo(activated, 'lead', 'active')];
  switch (state) {
    case 'lead': return [facts.subscriptionChanged(1, 'incomplete')];
    case 'trial': {
      const started = facts.trialStarted(1);
      return [started, changedTo(started, 'lead', 'trial')];
    }
    case 'active': return activeHistory;
    case 'past_due': {
      const failed = facts.paymentFailed(2);
      return [...activeHistory, failed, changedTo(failed, 'active', 'past_due')];
    }
    case 'canceled': {
      const canceled = facts.subscriptionCanceled(2);
      return [...activeHistory, canceled, changedTo(canceled, 'active', 'canceled')];
    }
    case 'refunded': {
      const refund = facts.refundIssued(2);
      return [...activeHistory, refund, changedTo(refund, 'active', 'refunded')];
    }
    case 'needs_review': {
      const dispute = facts.disputeOpened(2);
      return [...activeHistory, dispute, flagged(dispute, 'active', 'dispute_opened')];
    }
  }
}

// The history a fact case is judged after: historyTo(state), with an add-on subscription live
// beside KNOWN for the cases about what remains when KNOWN ends, and a paid invoice for the
// cases of a customer whose payment is known. Given events are evolved, not decided, so these
// change no lifecycle state, only what is live and what was paid.
export function givenFor(name: FactCaseName, state: LifecycleState): DomainEvent[] {
  if (name.endsWith('.paymentKnown')) return [facts.paymentSucceeded(0), ...historyTo(state)];
  const addOn = name.endsWith('.activeRemains')
    ? facts.subscriptionActivated(0, ADDON)
    : name.endsWith('.pastDueRemains')
      ? facts.subscriptionChanged(0, 'past_due', ADDON)
      : name.endsWith('.trialRemains')
        ? facts.trialStarted(0, ADDON)
        : undefined;
  return addOn ? [addOn, ...historyTo(state)] : historyTo(state);
}

export const stateAfter = (history: readonly DomainEvent[], from: CustomerState = customerDecider.initialState) =>
  history.reduce(customerDecider.evolve, from);

export function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, index) => permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]));
}

// Runs commands one after another through decide and evolve, as the service layer does (which
// hands a late fact the events recorded before it).
export function run(commands: readonly CustomerCommand[], history: readonly DomainEvent[] = [], context: DecideContext = { now: NOW }) {
  let state = stateAfter(history);
  const appended: DomainEvent[] = [];
  for (const command of commands) {
    const events = customerDecider.decide(command, state, { ...context, history: [...history, ...appended] });
    appended.push(...events);
    state = stateAfter(events, state);
  }
  return { state, appended };
}
