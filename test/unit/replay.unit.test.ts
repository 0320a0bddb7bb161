import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { domainEvent } from '../../contracts/domainEvents.ts';
import { customerDecider } from '../../domain/customerDecider.ts';
import { decisionKey, replayCustomer } from '../../services/operations/replay.ts';
import { replayCustomers } from '../../services/operations/replayAll.ts';
import { timelineOf, recordedEventsOf } from '../../services/operations/timeline.ts';
import { activated, admin, CUSTOMER, lead, paid, recordStream, refunded, refundsChangeNothing, support, trial } from './recordedStreams.ts';

// Replay-and-compare: today's decider over recorded facts (and overrides), every difference listed.

describe('replay a customer through today’s rules', () => {
  test('unchanged rules: every input compared, no difference', () => {
    const stream = recordStream([lead(0), trial(1), activated(2), paid(3), refunded(4)]);
    const result = replayCustomer(CUSTOMER, stream);
    assert.equal(result.checked, 5);
    assert.deepEqual(result.differences, []);
  });

  test('a rule change is reported exactly where it decides otherwise, with both decisions', () => {
    const stream = recordStream([lead(0), trial(1), activated(2), paid(3), refunded(4), paid(5)]);
    const result = replayCustomer(CUSTOMER, stream, { decider: refundsChangeNothing });
    assert.deepEqual(
      result.differences.map((d) => ({ input: d.input, recorded: d.recorded, today: d.today, lifecycleRecorded: d.lifecycleRecorded, lifecycleToday: d.lifecycleToday })),
      [
        { input: 'RefundIssued', recorded: ['LifecycleChanged → refunded'], today: [], lifecycleRecorded: 'refunded', lifecycleToday: 'active' },
        // Recorded: the payment after the refund restored access; today the customer never lost it.
        { input: 'PaymentSucceeded', recorded: ['LifecycleChanged → active'], today: [], lifecycleRecorded: 'active', lifecycleToday: 'active' },
      ],
    );
    const refund = stream.find((e) => e.type === 'RefundIssued')!;
    assert.equal(result.differences[0]!.version, refund.version);
    assert.equal(result.differences[0]!.sourceEventId, refund.metadata.sourceEventId);
    assert.equal(result.differences[0]!.correlationId, refund.metadata.correlationId);
  });

  test('after the upgrade that judges refunds order-free: a late invoice that gave a refunded customer access again is listed', () => {
    // Before it, a paid invoice of the subscription's own second, delivered after the refund,
    // moved the customer back to active. As those rules recorded it:
    const lateInvoiceRestoredAccess: typeof customerDecider = {
      ...customerDecider,
      decide: (command, state, context) =>
        command.type === 'RecordFact' && command.fact.type === 'PaymentSucceeded' && state.lifecycle === 'refunded'
          ? [command.fact, domainEvent('LifecycleChanged', { from: 'refunded', to: 'active', cause: { type: 'PaymentSucceeded', occurredAt: command.fact.data.occurredAt, orderingKey: 'subscription:sub_1' } })]
          : customerDecider.decide(command, state, context),
    };
    const stream = recordStream([activated(2), refunded(5), paid(2)], lateInvoiceRestoredAccess);
    const result = replayCustomer(CUSTOMER, stream);
    assert.deepEqual(
      result.differences.map((d) => ({ input: d.input, recorded: d.recorded, today: d.today, lifecycleRecorded: d.lifecycleRecorded, lifecycleToday: d.lifecycleToday })),
      [{ input: 'PaymentSucceeded', recorded: ['LifecycleChanged → active'], today: [], lifecycleRecorded: 'active', lifecycleToday: 'refunded' }],
    );
  });

  test('after the upgrade that withdraws refund flags: a customer still under review though the refunded payment arrived is listed', () => {
    // Before it, needs_review was left only by a human. As those rules recorded it:
    const flagsStayed: typeof customerDecider = {
      ...customerDecider,
      decide: (command, state, context) =>
        command.type === 'RecordFact' && state.lifecycle === 'needs_review' ? [command.fact] : customerDecider.decide(command, state, context),
    };
    const stream = recordStream([lead(0), refunded(5), activated(2), paid(2)], flagsStayed);
    const result = replayCustomer(CUSTOMER, stream);
    assert.deepEqual(
      result.differences.map((d) => ({ input: d.input, recorded: d.recorded, today: d.today, lifecycleRecorded: d.lifecycleRecorded, lifecycleToday: d.lifecycleToday })),
      [{ input: 'PaymentSucceeded', recorded: [], today: ['LifecycleChanged → refunded'], lifecycleRecorded: 'needs_review', lifecycleToday: 'refunded' }],
    );
  });

  test('after the upgrade that dates states in source-time order: a late fact that left the state dated by its arrival is listed', () => {
    // Before it, a late fact was decided without the customer's recorded events. As those rules recorded it:
    const datedByArrival: typeof customerDecider = { ...customerDecider, decide: (command, state, context) => customerDecider.decide(command, state, { now: context.now }) };
    const inputs = [trial(1), activated(5), paid(3)];
    const result = replayCustomer(CUSTOMER, recordStream(inputs, datedByArrival));
    assert.deepEqual(
      result.differences.map((d) => ({ input: d.input, recorded: d.recorded, today: d.today, lifecycleRecorded: d.lifecycleRecorded, lifecycleToday: d.lifecycleToday })),
      [{ input: 'PaymentSucceeded', recorded: [], today: ['LifecycleRedated → 2026-02-01T10:03:00Z'], lifecycleRecorded: 'active', lifecycleToday: 'active' }],
    );
    // Recorded by today's rules (the late fact handed the history), replay agrees.
    const today = recordStream(inputs);
    assert.deepEqual(today.map((e) => e.type), ['TrialStarted', 'LifecycleChanged', 'SubscriptionActivated', 'LifecycleChanged', 'PaymentSucceeded', 'LifecycleRedated']);
    assert.deepEqual(replayCustomer(CUSTOMER, today).differences, []);
  });

  test('a history the change does not touch stays clean under it', () => {
    const stream = recordStream([lead(0), trial(1), activated(2), paid(3)]);
    assert.deepEqual(replayCustomer(CUSTOMER, stream, { decider: refundsChangeNothing }).differences, []);
  });

  test('manual overrides are replayed as the commands they were: same rules, same outcome', () => {
    const stream = recordStream([
      lead(0),
      refunded(1),
      { type: 'ApplyManualOverride', action: 'resolve_review', reason: 'Refund was for a test charge', actor: support },
      { type: 'ApplyManualOverride', action: 'set_state', to: 'active', reason: 'Paid by bank transfer', actor: admin },
    ]);
    assert.deepEqual(
      stream.map((e) => e.type),
      ['LeadCaptured', 'RefundIssued', 'FlaggedForReview', 'ManualOverrideApplied', 'ReviewResolved', 'LifecycleChanged', 'ManualOverrideApplied', 'LifecycleChanged'],
    );
    const result = replayCustomer(CUSTOMER, stream);
    assert.equal(result.checked, 4);
    assert.deepEqual(result.differences, []);
  });

  test('an override today’s rules would refuse is a difference too', () => {
    const stream = recordStream([
      lead(0),
      refunded(1),
      { type: 'ApplyManualOverride', action: 'resolve_review', reason: 'Refund was for a test charge', actor: support },
    ]);
    const result = replayCustomer(CUSTOMER, stream, { decider: refundsChangeNothing });
    assert.deepEqual(
      result.differences.map((d) => [d.input, d.recorded, d.today]),
      [
        ['RefundIssued', ['FlaggedForReview: refund_without_payment'], []],
        ['ManualOverrideApplied', ['ReviewResolved → lead', 'LifecycleChanged → lead'], ['refused: LEDGER_ILLEGAL_STATE']],
      ],
    );
  });

  test('--since: earlier inputs are folded as recorded and not compared', () => {
    const stream = recordStream([lead(0), trial(1), activated(2), refunded(3), paid(4)]);
    const since = stream.find((e) => e.type === 'PaymentSucceeded')!.recordedAt;
    const result = replayCustomer(CUSTOMER, stream, { decider: refundsChangeNothing, since });
    assert.equal(result.checked, 1);
    // From the recorded "refunded", today's rules still restore access on the payment: no difference.
    assert.deepEqual(result.differences, []);
  });

  test('an event this build cannot read is a difference, and the replay goes on', () => {
    const stream = recordStream([lead(0), trial(1), activated(2), paid(3)]);
    const broken = stream.map((event) => (event.type === 'SubscriptionActivated' ? { ...event, data: { plan: 'gold' } } : event));
    const result = replayCustomer(CUSTOMER, broken);
    assert.deepEqual(
      result.differences.map((d) => [d.input, d.recorded, d.today]),
      [['SubscriptionActivated', ['SubscriptionActivated'], ['unreadable: LEDGER_EVENT_SCHEMA']]],
    );
    // What was decided from it cannot be re-decided, so it stands: the payment after it decides
    // nothing new, as it did then.
    assert.equal(result.checked, 4);
  });

  test('a decision is compared by what it decided, not by the state it came from', () => {
    const from = (state: 'trial' | 'past_due') =>
      decisionKey(domainEvent('LifecycleChanged', { from: state, to: 'active', cause: { type: 'PaymentSucceeded', occurredAt: '2026-01-01T00:00:00Z' } }));
    assert.equal(from('trial'), from('past_due'));
  });

  test('the timeline the admin API serves replays like the stream it came from', () => {
    const stream = recordStream([lead(0), trial(1), activated(2), refunded(3)]);
    const served = JSON.parse(JSON.stringify(timelineOf(CUSTOMER, stream)));
    const again = recordedEventsOf(served);
    assert.deepEqual(replayCustomer(CUSTOMER, again, { decider: refundsChangeNothing }), replayCustomer(CUSTOMER, stream, { decider: refundsChangeNothing }));
  });

  test('over many customers: exactly the affected ones, with progress', async () => {
    const streams = new Map([
      ['cust_a', recordStream([lead(0), trial(1), activated(2), refunded(3)], customerDecider, 'cust_a')],
      ['cust_b', recordStream([lead(0), trial(1), activated(2)], customerDecider, 'cust_b')],
      ['cust_c', recordStream([lead(0), refunded(1)], customerDecider, 'cust_c')],
    ]);
    const progress: number[] = [];
    const report = await replayCustomers({ events: async (id) => streams.get(id)! }, streams.keys(), {
      decider: refundsChangeNothing,
      onProgress: (p) => progress.push(p.customers),
    });
    assert.deepEqual(report.affectedCustomers, ['cust_a', 'cust_c']);
    assert.equal(report.customers, 3);
    assert.deepEqual(progress, [1, 2, 3]);
    const unchanged = await replayCustomers({ events: async (id) => streams.get(id)! }, streams.keys());
    assert.deepEqual(unchanged.differences, []);
  });
});
