import assert from 'node:assert/strict';
import { test } from 'node:test';
import { uuidv7 } from '../../services/eventstore/uuidv7.ts';
import { parseTraceparent, traceparentFor } from '../../services/http/traceContext.ts';

test('event ids are RFC 9562 v7 UUIDs: unique, and ordered by their millisecond', () => {
  const ids = Array.from({ length: 10_000 }, () => uuidv7());
  for (const id of ids.slice(0, 100)) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(new Set(ids).size, ids.length);
  const t = Date.UTC(2026, 10, 27, 12, 0, 0);
  assert.equal(uuidv7(t).slice(0, 13), `${t.toString(16).padStart(12, '0').slice(0, 8)}-${t.toString(16).padStart(12, '0').slice(8)}`);
  assert.ok(uuidv7(t) < uuidv7(t + 1), 'a later millisecond sorts after');
});

test('a minted traceparent is valid W3C trace context, fresh each time', () => {
  const minted = Array.from({ length: 1_000 }, () => traceparentFor(undefined));
  for (const header of minted.slice(0, 100)) {
    assert.match(header, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    assert.ok(parseTraceparent(header), header);
  }
  assert.equal(new Set(minted.map((h) => h.slice(3, 35))).size, minted.length, 'trace ids do not repeat');
  const inbound = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  assert.equal(traceparentFor(inbound), inbound, 'a valid inbound one is kept');
});
