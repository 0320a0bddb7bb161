import assert from 'node:assert/strict';
import { test } from 'node:test';
import { domainEvent } from '../../contracts/domainEvents.ts';
import type { RecordedEvent } from '../../contracts/eventMetadata.ts';
import { evolve, initialState } from '../../domain/customerState.ts';
import { afterLiteralOf, FoldMemo } from '../../services/projector/foldMemo.ts';

const recorded = (position: number, email: string): RecordedEvent => {
  const event = domainEvent('LeadCaptured', { occurredAt: '2026-01-01T00:00:00Z', email, channel: 'app' });
  return {
    eventId: `e${position}`,
    streamId: 'customer-c',
    version: position,
    position: BigInt(position),
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: { customerId: 'c', occurredAt: '2026-01-01T00:00:00Z', source: 'app', correlationId: 'k' },
    recordedAt: '2026-01-01T00:00:00Z',
  };
};

test('the runners after the first reuse its fold of an event from the same state', () => {
  const memo = new FoldMemo();
  const first = memo.fold(recorded(1, 'a@example.com'), initialState);
  assert.equal(memo.fold(recorded(1, 'a@example.com'), initialState), first, 'same event, same before: the same fold');
  assert.equal(memo.afterAt('1'), first.after, "the state at the event's position, for the next batch's rows");
  assert.equal(afterLiteralOf(first), afterLiteralOf(first));
  assert.deepEqual(JSON.parse(JSON.parse(afterLiteralOf(first)) as string), JSON.parse(JSON.stringify(evolve(initialState, first.event))));
});

test('a fold from another state is computed, not reused', () => {
  const memo = new FoldMemo();
  const fromInitial = memo.fold(recorded(2, 'b@example.com'), initialState);
  const other = { ...initialState, lifecycle: 'active' as const };
  const fromOther = memo.fold(recorded(2, 'b@example.com'), other);
  assert.notEqual(fromOther, fromInitial);
  assert.equal(fromOther.before, other);
  assert.deepEqual(fromOther.after, evolve(other, fromOther.event));
});

test('the memo keeps only the most recent positions', () => {
  const memo = new FoldMemo(2);
  for (const position of [1, 2, 3, 4, 5]) memo.fold(recorded(position, `${position}@example.com`), initialState);
  // The last two always; at most twice as many (services/lruMap.ts).
  assert.equal(memo.afterAt('1'), undefined);
  assert.equal(memo.afterAt('2'), undefined);
  assert.ok(memo.afterAt('4') && memo.afterAt('5'));
});
