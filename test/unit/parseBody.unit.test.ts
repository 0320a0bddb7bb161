import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseJson } from '../../contracts/parseBody.ts';

// What reaches the store must be text PostgreSQL's jsonb accepts (contracts/parseBody.ts).

test('NUL and unpaired surrogates become U+FFFD, in values, keys and arrays; well-formed pairs and other escapes stay', () => {
  const parsed = parseJson('{"a":"x\\u0000y","k\\u0000":["\\ud800","\\udc00z","\\ud83d\\ude00","\\u00e9\\n"],"n":{"deep":"\\udbff"}}');
  assert.deepEqual(parsed, { a: 'x\uFFFDy', 'k\uFFFD': ['\uFFFD', '\uFFFDz', '😀', 'é\n'], n: { deep: '\uFFFD' } });
  // As PostgreSQL will be sent it: no escape it refuses is left.
  assert.doesNotMatch(JSON.stringify(parsed), /\\u0000|\\ud[89a-f]/i);
});

test('a "__proto__" key of a body stays data: it never becomes the object\'s prototype', () => {
  const parsed = parseJson('{"__proto__":{"polluted":"\\u0000"},"name":"\\u0000"}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
  assert.equal((parsed as { polluted?: unknown }).polluted, undefined);
  assert.deepEqual(Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value, { polluted: '\uFFFD' });
  assert.equal(parsed.name, '\uFFFD');
});
