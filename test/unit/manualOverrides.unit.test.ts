import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { domainEvent, type LifecycleState } from '../../contracts/domainEvents.ts';
import { customerDecider } from '../../domain/customerDecider.ts';
import { deciderSpecification } from './deciderSpecification.ts';
import { admin, facts, historyTo, NOW, override, recordFact, run, stateAfter } from './lifecycleFixtures.ts';

const spec = deciderSpecification(customerDecider, { now: NOW });
const support = { id: 'usr_support', role: 'support' as const };
const fromOverride = { type: 'ManualOverrideApplied', occurredAt: NOW };

describe('manual overrides: the only way out of needs_review, always audited', () => {
  test('resolve_review returns the customer to the state it was flagged from', () => {
    spec
      .given(historyTo('needs_review'))
      .when(override({ action: 'resolve_review', reason: 'Dispute won', actor: support }))
      .then([
        domainEvent('ManualOverrideApplied', { occurredAt: NOW, action: 'resolve_review', to: 'active', reason: 'Dispute won', actor: support }),
        domainEvent('ReviewResolved', { occurredAt: NOW, reviewReason: 'dispute_opened', to: 'active', actor: support }),
        domainEvent('LifecycleChanged', { from: 'needs_review', to: 'active', cause: fromOverride }),
      ]);
  });

  test('resolve_review may choose another state', () => {
    const { state } = run([override({ action: 'resolve_review', to: 'refunded', reason: 'Dispute lost', actor: admin })], historyTo('needs_review'));
    assert.equal(state.lifecycle, 'refunded');
    assert.equal(state.review, null);
    assert.equal(state.since, NOW);
  });

  test('set_state out of needs_review also resolves the review', () => {
    spec
      .given(historyTo('needs_review'))
      .when(override({ action: 'set_state', to: 'canceled', reason: 'Customer asked to close', actor: admin }))
      .then([
        domainEvent('ManualOverrideApplied', { occurredAt: NOW, action: 'set_state', to: 'canceled', reason: 'Customer asked to close', actor: admin }),
        domainEvent('ReviewResolved', { occurredAt: NOW, reviewReason: 'dispute_opened', to: 'canceled', actor: admin }),
        domainEvent('LifecycleChanged', { from: 'needs_review', to: 'canceled', cause: fromOverride }),
      ]);
  });

  test('set_state corrects a customer outside review', () => {
    spec
      .given(historyTo('trial'))
      .when(override({ action: 'set_state', to: 'active', reason: 'Paid by bank transfer', actor: admin }))
      .then([
        domainEvent('ManualOverrideApplied', { occurredAt: NOW, action: 'set_state', to: 'active', reason: 'Paid by bank transfer', actor: admin }),
        domainEvent('LifecycleChanged', { from: 'trial', to: 'active', cause: fromOverride }),
      ]);
  });

  test('set_state to needs_review flags the customer by hand', () => {
    spec
      .given(historyTo('active'))
      .when(override({ action: 'set_state', to: 'needs_review', reason: 'Suspected fraud', actor: admin }))
      .then([
        domainEvent('ManualOverrideApplied', { occurredAt: NOW, action: 'set_state', to: 'needs_review', reason: 'Suspected fraud', actor: admin }),
        domainEvent('FlaggedForReview', { reason: 'manual_review', from: 'active', cause: fromOverride }),
      ]);
  });

  test('facts arriving during review are recorded, and apply normally after it', () => {
    const { state, appended } = run(
      [
        recordFact(facts.paymentFailed(20)),
        override({ action: 'resolve_review', reason: 'Dispute withdrawn', actor: admin }),
        recordFact(facts.paymentSucceeded(30)),
      ],
      historyTo('needs_review'),
    );
    assert.deepEqual(
      appended.map((event) => event.type),
      ['PaymentFailed', 'ManualOverrideApplied', 'ReviewResolved', 'LifecycleChanged', 'PaymentSucceeded'],
    );
    assert.equal(state.lifecycle, 'active');
    assert.equal(state.lastPayment?.outcome, 'succeeded');
  });

  const refused: [string, LifecycleState, ReturnType<typeof override>, string][] = [
    ['resolve_review outside review', 'active', override({ action: 'resolve_review', reason: 'x', actor: admin }), 'LEDGER_ILLEGAL_STATE'],
    ['set_state to the current state', 'active', override({ action: 'set_state', to: 'active', reason: 'x', actor: admin }), 'LEDGER_ILLEGAL_STATE'],
    ['resolve_review back into needs_review', 'needs_review', override({ action: 'resolve_review', to: 'needs_review', reason: 'x', actor: admin }), 'LEDGER_ILLEGAL_STATE'],
    ['set_state without a target', 'active', override({ action: 'set_state', reason: 'x', actor: admin }), 'LEDGER_VALIDATION'],
    ['an override without a reason', 'needs_review', override({ action: 'resolve_review', reason: '   ', actor: admin }), 'LEDGER_VALIDATION'],
    ['set_state by support', 'needs_review', override({ action: 'set_state', to: 'active', reason: 'x', actor: support }), 'LEDGER_FORBIDDEN'],
    ['any override by a viewer', 'needs_review', override({ action: 'resolve_review', reason: 'x', actor: { id: 'v', role: 'viewer' } }), 'LEDGER_FORBIDDEN'],
    ['any override by the system', 'needs_review', override({ action: 'resolve_review', reason: 'x', actor: { id: 's', role: 'system' } }), 'LEDGER_FORBIDDEN'],
  ];
  for (const [what, state, command, code] of refused) {
    test(`refused: ${what} (${code})`, () => {
      spec.given(historyTo(state)).when(command).thenThrows(code);
    });
  }

  test('the review remembers why and from where', () => {
    const state = stateAfter(historyTo('needs_review'));
    assert.deepEqual(state.review, { reason: 'dispute_opened', from: 'active', flaggedAt: facts.disputeOpened(2).data.occurredAt });
  });
});
