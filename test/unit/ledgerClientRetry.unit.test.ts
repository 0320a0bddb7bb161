import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLedgerClient } from '../../contracts/client/ledgerClient.ts';

// The retry policy of submitLead against answers a server gives (the e2e test covers the real
// server; these are the answers that are hard to provoke on demand).

const accepted = { customerId: 'cust_1', duplicate: false, eventIds: [], correlationId: 'c' };

function scripted(answers: (() => Response)[]) {
  const calls: { at: number; key: string | null }[] = [];
  const fetch = (async (_url: string, init?: RequestInit) => {
    calls.push({ at: performance.now(), key: new Headers(init?.headers).get('idempotency-key') });
    return answers[Math.min(calls.length - 1, answers.length - 1)]!();
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

const overloaded = () =>
  new Response(JSON.stringify({ code: 'LEDGER_OVERLOADED' }), { status: 503, headers: { 'retry-after': '1', 'content-type': 'application/problem+json' } });
const created = () => new Response(JSON.stringify(accepted), { status: 201, headers: { 'content-type': 'application/json' } });

test('a 503 with Retry-After is retried no sooner than the server asked, with the same Idempotency-Key', async () => {
  const { fetch, calls } = scripted([overloaded, created]);
  const client = createLedgerClient({ baseUrl: 'http://ledger.test', apiKey: 'k', fetch, retryDelayMs: 1 });
  assert.deepEqual(await client.submitLead({ email: 'ada@example.com' }, 'tap-1'), accepted);
  assert.equal(calls.length, 2);
  assert.ok(calls[1]!.at - calls[0]!.at >= 990, `retried after ${calls[1]!.at - calls[0]!.at} ms`);
  assert.deepEqual(calls.map((c) => c.key), ['tap-1', 'tap-1']);
});

test('a 5xx without Retry-After backs off on the client’s own schedule, and gives up after the retries', async () => {
  const failing = () => new Response('{}', { status: 502 });
  const { fetch, calls } = scripted([failing]);
  const client = createLedgerClient({ baseUrl: 'http://ledger.test', apiKey: 'k', fetch, retries: 2, retryDelayMs: 1 });
  await assert.rejects(client.submitLead({ email: 'ada@example.com' }), (e: Error & { status?: number }) => e.status === 502);
  assert.equal(calls.length, 3);
  assert.ok(calls[2]!.at - calls[0]!.at < 500, 'no server-given wait');
});
