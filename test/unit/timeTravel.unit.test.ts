import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StateQuery } from '../../contracts/api/adminApi.ts';
import { parseWith } from '../../contracts/parseBody.ts';
import { defaultReadModelOptions } from '../../projections/readModels.ts';
import { stateAt } from '../../services/operations/stateAt.ts';
import { timelineOf } from '../../services/operations/timeline.ts';
import { activated, admin, CUSTOMER, lead, paid, recordStream, refunded, trial } from './recordedStreams.ts';

// The timeline (facts and decisions with the state after each) and time travel (state and
// read-model views as of a version or a recorded time), both folded from the stream alone.

const stream = recordStream([
  lead(0),
  trial(1),
  activated(2),
  paid(3),
  refunded(4),
  { type: 'ApplyManualOverride', action: 'set_state', to: 'active', reason: 'Refund was a mistake, charged again', actor: admin },
]);

describe('timeline', () => {
  const timeline = timelineOf(CUSTOMER, stream);

  test('facts and decisions interleaved, with the lifecycle after each', () => {
    assert.deepEqual(
      timeline.entries.map((e) => [e.type, e.kind, e.lifecycleAfter]),
      [
        ['LeadCaptured', 'fact', 'lead'],
        ['TrialStarted', 'fact', 'lead'],
        ['LifecycleChanged', 'decision', 'trial'],
        ['SubscriptionActivated', 'fact', 'trial'],
        ['LifecycleChanged', 'decision', 'active'],
        ['PaymentSucceeded', 'fact', 'active'],
        ['RefundIssued', 'fact', 'active'],
        ['LifecycleChanged', 'decision', 'refunded'],
        ['ManualOverrideApplied', 'decision', 'refunded'],
        ['LifecycleChanged', 'decision', 'active'],
      ],
    );
    assert.equal(timeline.lifecycle, 'active');
    assert.equal(timeline.version, stream.length);
  });

  test('each entry says where it came from and when', () => {
    const refund = timeline.entries.find((e) => e.type === 'RefundIssued')!;
    assert.equal(refund.source, 'stripe');
    assert.equal(refund.sourceEventId, 'evt_src_4');
    assert.equal(refund.correlationId, 'corr-4');
    assert.equal(refund.occurredAt, '2026-02-01T10:04:00Z');
    assert.equal(refund.recordedAt, '2026-02-01T10:04:00Z');
    assert.equal(refund.summary, 'refunded 49.00 usd of 49.00 usd ch_4');
    assert.equal(timeline.entries[7]!.summary, 'active → refunded (RefundIssued)');
  });

  test('an override carries its actor, role and reason', () => {
    const override = timeline.entries.find((e) => e.type === 'ManualOverrideApplied')!;
    assert.deepEqual(override.actor, admin);
    assert.equal(override.source, 'admin');
    assert.match(override.summary, /set_state → active by apikey:admin \(admin\): Refund was a mistake/);
  });
});

describe('a stream holding an event this build cannot read', () => {
  const broken = stream.map((event) => (event.type === 'PaymentSucceeded' ? { ...event, data: { amountCents: 'lots' } } : event));

  test('the timeline shows it, unread, and folds on without it', () => {
    const entries = timelineOf(CUSTOMER, broken).entries;
    const payment = entries.find((e) => e.type === 'PaymentSucceeded')!;
    assert.match(payment.summary, /^unreadable: PaymentSucceeded v2 does not match its schema/);
    assert.equal(payment.kind, 'fact');
    assert.equal(payment.lifecycleAfter, 'active');
    assert.equal(entries.at(-1)!.lifecycleAfter, 'active');
  });

  test('time travel leaves it out and says so', () => {
    const now = stateAt(CUSTOMER, broken, undefined, defaultReadModelOptions);
    assert.deepEqual(now.unreadable, [broken.find((e) => e.type === 'PaymentSucceeded')!.version]);
    assert.equal(now.state.lastPayment, null);
  });
});

describe('state at a version or a time', () => {
  const at = (raw: string) => parseWith(StateQuery, { at: raw }).at;

  test('by version: the prefix up to it, and the views as they were then', () => {
    const then = stateAt(CUSTOMER, stream, at('5'), defaultReadModelOptions);
    assert.equal(then.asOf.version, 5);
    assert.equal(then.state.lifecycle, 'active');
    assert.equal(then.state.mrrCents, 4900);
    assert.equal(then.requested, '5');
    assert.equal((then.views.crm as { stage: string }).stage, 'customer');
    assert.equal((then.views.app as { access: string }).access, 'full');
    assert.ok(!('watermarks' in then.state));
  });

  test('by recorded time: what the ledger knew at that moment', () => {
    const afterRefund = stateAt(CUSTOMER, stream, at('2026-02-01T10:04:30Z'), defaultReadModelOptions);
    assert.equal(afterRefund.state.lifecycle, 'refunded');
    assert.equal(afterRefund.asOf.version, 8);
    assert.equal((afterRefund.views.app as { access: string }).access, 'none');
    assert.equal((afterRefund.views.support as { billingStatus: string }).billingStatus, 'refunded');
    // An offset is the same instant.
    assert.deepEqual(stateAt(CUSTOMER, stream, at('2026-02-01T11:04:30+01:00'), defaultReadModelOptions).asOf, afterRefund.asOf);
  });

  test('now: the whole stream', () => {
    const now = stateAt(CUSTOMER, stream, undefined, defaultReadModelOptions);
    assert.equal(now.asOf.version, stream.length);
    assert.equal(now.state.lifecycle, 'active');
    assert.equal(now.requested, null);
  });

  test('before the first event, or past the last version: not found', () => {
    assert.throws(() => stateAt(CUSTOMER, stream, at('2026-01-01T00:00:00Z'), defaultReadModelOptions), { code: 'LEDGER_NOT_FOUND' });
    assert.throws(() => stateAt(CUSTOMER, stream, at('99'), defaultReadModelOptions), { code: 'LEDGER_NOT_FOUND' });
  });

  test('`at` is a version or an ISO time, nothing else', () => {
    for (const bad of ['yesterday', '2026-02-01', '-1', '1.5']) assert.throws(() => at(bad), { code: 'LEDGER_VALIDATION' }, bad);
  });
});
