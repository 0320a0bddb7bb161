import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LruMap } from '../../services/lruMap.ts';

// The bounded map behind the customer cache, its claim owners and the projector's fold memo:
// what those caches rely on. (Its speed when full is measured by `npm run bench -- caches`.)

const keys = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `k${from + i}`);

describe('LruMap', () => {
  test('answers the newest value set for a key, whatever generation an older one sits in', () => {
    const map = new LruMap<string, number>(4);
    map.set('a', 1);
    for (const key of keys(0, 3)) map.set(key, 0); // full: a = 1 is in the old generation now
    map.set('a', 2);
    assert.equal(map.get('a'), 2);
    for (const key of keys(3, 6)) map.set(key, 0); // full again: a = 2 old, a = 1 dropped
    assert.equal(map.get('a'), 2);
  });

  test('keeps the last `max` keys inserted, and never more than twice as many', () => {
    const map = new LruMap<string, number>(100);
    const all = keys(0, 1_000);
    all.forEach((key, i) => map.set(key, i));
    // Absent keys first: asking for one changes nothing, asking for a present one may.
    for (const key of all.slice(0, 800)) assert.equal(map.get(key), undefined, key);
    for (const [i, key] of all.slice(900).entries()) assert.equal(map.get(key), 900 + i, key);
  });

  test('keeps a key that is read again and again while many others come and go', () => {
    const map = new LruMap<string, string>(100);
    map.set('hot', 'kept');
    map.set('cold', 'dropped');
    for (const [i, key] of keys(0, 2_000).entries()) {
      map.set(key, key);
      if (i % 10 === 0) assert.equal(map.get('hot'), 'kept', `after ${i} insertions`);
    }
    assert.equal(map.get('hot'), 'kept');
    assert.equal(map.get('cold'), undefined);
  });

  test('a key read from the older generation is kept past the next turnover', () => {
    const map = new LruMap<string, number>(2);
    map.set('a', 1);
    map.set('b', 2); // the young generation is full: a and b become the old one
    assert.equal(map.get('a'), 1); // a moves back into the young one
    map.set('c', 3); // full again: a (read since) and c become the old one, b is dropped
    map.set('d', 4);
    assert.equal(map.get('a'), 1);
    assert.equal(map.get('b'), undefined);
  });

  test('a map of one entry keeps the last key', () => {
    const map = new LruMap<string, number>(1);
    map.set('a', 1);
    map.set('b', 2);
    assert.equal(map.get('a'), undefined);
    assert.equal(map.get('b'), 2);
  });
});
