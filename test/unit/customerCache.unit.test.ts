import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CustomerCache } from '../../services/commands/customerCache.ts';
import { initialState } from '../../domain/customerState.ts';

const at = (version: number) => ({ state: { ...initialState, lifecycle: 'active' as const }, version });

test('the cache keeps the most recently used customers within its bound', () => {
  const cache = new CustomerCache(2);
  cache.remember('a', at(1));
  cache.remember('b', at(1));
  cache.get('a');
  cache.remember('c', at(1));
  assert.ok(cache.get('a'), 'a was used last: kept');
  assert.equal(cache.get('b'), undefined, 'b was the least recently used: out');
  assert.ok(cache.get('c'));
});

test('an older fold never replaces a newer one (two deliveries of one customer finish out of order)', () => {
  const cache = new CustomerCache();
  cache.remember('a', at(5));
  cache.remember('a', at(3));
  assert.equal(cache.get('a')?.version, 5);
  cache.remember('a', at(7));
  assert.equal(cache.get('a')?.version, 7);
});

test('the owner hint follows the strongest claim that has one', () => {
  const cache = new CustomerCache();
  cache.rememberOwner({ kind: 'email', externalId: 'ada@example.com' }, 'cust_email');
  cache.rememberOwner({ kind: 'stripe', externalId: 'cus_ada' }, 'cust_stripe');
  assert.equal(cache.ownerHint([{ kind: 'stripe', externalId: 'cus_ada' }, { kind: 'email', externalId: 'ada@example.com' }]), 'cust_stripe');
  assert.equal(cache.ownerHint([{ kind: 'stripe', externalId: 'cus_new' }, { kind: 'email', externalId: 'ada@example.com' }]), 'cust_email');
  assert.equal(cache.ownerHint([{ kind: 'crm', externalId: 'x' }]), undefined);
});
