import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { loadCustomer } from '../../services/commands/loadCustomer.ts';
import { loadConfig } from '../../services/config.ts';
import { authenticate, knownKeysOf } from '../../services/http/apiKeyAuth.ts';
import { pruneIdempotencyKeys } from '../../services/ingest/app/idempotencyKeys.ts';
import { databaseTargets } from '../support/databases.ts';
import { startTestApp, TEST_ENV, type TestApp } from '../support/testApp.ts';

// POST /v1/leads and POST /v1/app-events: scoped API keys, contracts, and Idempotency-Key
// semantics (replay, reuse, concurrency), on every database target.

const NOW = new Date('2026-03-02T09:30:00.000Z');

interface Call {
  url?: string;
  body?: unknown;
  rawBody?: string;
  apiKey?: string | null;
  idempotencyKey?: string | null;
  contentType?: string;
}

function send(t: TestApp, { url = '/v1/leads', body, rawBody, apiKey = 'key-app', idempotencyKey = randomUUID(), contentType = 'application/json' }: Call) {
  return t.app.inject({
    method: 'POST',
    url,
    headers: {
      'content-type': contentType,
      ...(apiKey === null ? {} : { authorization: `Bearer ${apiKey}` }),
      ...(idempotencyKey === null ? {} : { 'idempotency-key': idempotencyKey }),
    },
    payload: rawBody ?? JSON.stringify(body ?? {}),
  });
}

async function countEvents(t: TestApp, type?: string): Promise<number> {
  const { rows } = await t.db.sql.query<{ n: string }>(
    `select count(*)::text as n from ledger_events ${type ? 'where type = $1' : ''}`,
    type ? [type] : [],
  );
  return Number(rows[0]?.n);
}

async function countCustomers(t: TestApp): Promise<number> {
  const { rows } = await t.db.sql.query<{ n: string }>('select count(distinct stream_id)::text as n from ledger_events');
  return Number(rows[0]?.n);
}

function assertProblem(res: LightMyRequestResponse, status: number, code: string): Record<string, unknown> {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const problem: Record<string, unknown> = res.json();
  assert.equal(problem.code, code, res.body);
  return problem;
}

const pathsOf = (problem: Record<string, unknown>): string[] =>
  Array.isArray(problem.errors) ? problem.errors.map((e: { path: string }) => e.path) : [];

const appKeyFingerprint = authenticate(knownKeysOf(loadConfig(TEST_ENV)), 'key-app')!.fingerprint;

for (const target of databaseTargets) {
  describe(`app API on ${target.name} (e2e)`, async () => {
    const skip = await target.skip();
    let t: TestApp;
    before(async () => {
      if (!skip) t = await startTestApp(target, { now: () => NOW });
    });
    after(async () => {
      await t?.close();
    });

    describe('API keys', { skip }, () => {
      test('no key or an unknown key: 401 with a Bearer challenge, nothing appended', async () => {
        const lead = { appUserId: 'auth-1' };
        const missing = await send(t, { body: lead, apiKey: null });
        assertProblem(missing, 401, 'LEDGER_UNAUTHENTICATED');
        assert.match(String(missing.headers['www-authenticate']), /^Bearer /);
        assertProblem(await send(t, { body: lead, apiKey: 'key-app-wrong' }), 401, 'LEDGER_UNAUTHENTICATED');
        assertProblem(await send(t, { url: '/v1/app-events', body: lead, apiKey: 'nope' }), 401, 'LEDGER_UNAUTHENTICATED');
        assert.equal(await countEvents(t), 0);
      });

      test('a key without the app scope: 403, even an admin key', async () => {
        for (const apiKey of ['key-read', 'key-viewer', 'key-support', 'key-admin']) {
          assertProblem(await send(t, { body: { appUserId: 'auth-2' }, apiKey }), 403, 'LEDGER_FORBIDDEN');
        }
        assert.equal(await countEvents(t), 0);
      });
    });

    describe('contracts', { skip }, () => {
      test('a missing Idempotency-Key is refused before anything else', async () => {
        assertProblem(await send(t, { body: { appUserId: 'c-1' }, idempotencyKey: null }), 400, 'LEDGER_IDEMPOTENCY_KEY_MISSING');
        assertProblem(await send(t, { url: '/v1/app-events', body: {}, idempotencyKey: null }), 400, 'LEDGER_IDEMPOTENCY_KEY_MISSING');
      });

      test('a malformed Idempotency-Key is a 400 naming the header', async () => {
        for (const idempotencyKey of ['has space', 'x'.repeat(256), 'naïve']) {
          const problem = assertProblem(await send(t, { body: { appUserId: 'c-1' }, idempotencyKey }), 400, 'LEDGER_VALIDATION');
          assert.deepEqual(pathsOf(problem), ['headers.idempotency-key']);
        }
      });

      test('schema mismatches are 400s naming the field path, and append nothing', async () => {
        const cases: { url?: string; body: unknown; path: string }[] = [
          { body: { email: 'not-an-email' }, path: 'email' },
          { body: { firstName: 'Ada' }, path: 'appUserId' },
          { body: { appUserId: 'c-2', occurredAt: '2026-03-02 09:30' }, path: 'occurredAt' },
          { body: { appUserId: 42 }, path: 'appUserId' },
          { url: '/v1/app-events', body: { type: 'signed_in', appUserId: 'c-2' }, path: 'type' },
          { url: '/v1/app-events', body: { appUserId: 'c-2' }, path: 'type' },
          { url: '/v1/app-events', body: { type: 'profile_updated', appUserId: 'c-2', profile: { email: 'nope' } }, path: 'profile.email' },
          { url: '/v1/app-events', body: { type: 'profile_updated', appUserId: 'c-2', profile: {} }, path: 'profile' },
          { url: '/v1/app-events', body: { type: 'account_deleted' }, path: 'appUserId' },
        ];
        for (const { url, body, path } of cases) {
          const problem = assertProblem(await send(t, { ...(url ? { url } : {}), body }), 400, 'LEDGER_VALIDATION');
          assert.ok(pathsOf(problem).includes(path), `${JSON.stringify(body)} -> ${JSON.stringify(problem.errors)}`);
          assert.ok(String(problem.detail).includes(path));
        }
        assert.equal(await countEvents(t), 0);
      });

      test('an unknown field is reported (a typo is not dropped silently)', async () => {
        const problem = assertProblem(await send(t, { body: { appUserId: 'c-3', emial: 'a@b.co' } }), 400, 'LEDGER_VALIDATION');
        assert.match(String(problem.detail), /emial/);
      });

      test('non-JSON and non-JSON content types are refused', async () => {
        assertProblem(await send(t, { rawBody: '{"appUserId":' }), 400, 'LEDGER_MALFORMED_JSON');
        assertProblem(await send(t, { rawBody: 'appUserId=x', contentType: 'text/plain' }), 415, 'LEDGER_UNSUPPORTED_MEDIA_TYPE');
        assertProblem(await send(t, { rawBody: 'appUserId=x', contentType: 'application/x-www-form-urlencoded' }), 415, 'LEDGER_UNSUPPORTED_MEDIA_TYPE');
        assert.equal(await countEvents(t), 0);
      });
    });

    describe('POST /v1/leads', { skip }, () => {
      test('a name with a NUL or an unpaired surrogate (as \\u escapes) is recorded with U+FFFD, not a 500 on every retry', async () => {
        const res = await send(t, { rawBody: '{"appUserId":"lead-nul","firstName":"Ann\\u0000","lastName":"\\ud800Lee"}' });
        assert.equal(res.statusCode, 201, res.body);
        const [lead] = (await t.db.store.readStream(`customer-${res.json().customerId}`)).filter((e) => e.type === 'LeadCaptured');
        assert.equal((lead?.data as { firstName?: string }).firstName, 'Ann\uFFFD');
        assert.equal((lead?.data as { lastName?: string }).lastName, '\uFFFDLee');
      });

      test('records LeadCaptured with the app and email identities, durably, before answering 201', async () => {
        const idempotencyKey = randomUUID();
        const res = await send(t, {
          body: { email: 'Grace@Example.COM', firstName: 'Grace', lastName: 'Hopper', appUserId: 'lead-1', channel: 'signup_form' },
          idempotencyKey,
        });
        assert.equal(res.statusCode, 201, res.body);
        const accepted = res.json();
        assert.match(accepted.customerId, /^cust_/);
        assert.equal(accepted.customer, `/v1/customers/${accepted.customerId}`);
        assert.equal(accepted.version, 3);
        assert.equal(res.headers['idempotent-replayed'], undefined);

        const events = await t.db.store.readStream(`customer-${accepted.customerId}`);
        assert.deepEqual(events.map((e) => e.type), ['IdentityLinked', 'IdentityLinked', 'LeadCaptured']);
        assert.deepEqual(events.map((e) => e.eventId), accepted.eventIds);
        assert.deepEqual(events.slice(0, 2).map((e) => e.data), [
          { occurredAt: NOW.toISOString(), kind: 'app', externalId: 'lead-1' },
          { occurredAt: NOW.toISOString(), kind: 'email', externalId: 'grace@example.com' },
        ]);
        assert.deepEqual(events[2]!.data, {
          occurredAt: NOW.toISOString(),
          email: 'Grace@Example.COM',
          firstName: 'Grace',
          lastName: 'Hopper',
          channel: 'signup_form',
        });
        const meta = events[2]!.metadata;
        assert.equal(meta.source, 'app');
        assert.equal(meta.sourceEventId, `${appKeyFingerprint}:${idempotencyKey}`);
        assert.equal(meta.correlationId, res.headers['x-correlation-id']);
      });

      test("the app's occurredAt is kept; an existing person gets the lead on their customer", async () => {
        const first = (await send(t, { body: { appUserId: 'lead-2' } })).json();
        const res = await send(t, { body: { email: 'lead2@example.com', appUserId: 'lead-2', occurredAt: '2026-03-01T08:00:00+01:00' } });
        assert.equal(res.statusCode, 201);
        assert.equal(res.json().customerId, first.customerId);
        const events = await t.db.store.readStream(`customer-${first.customerId}`);
        assert.equal(events.at(-1)!.type, 'LeadCaptured');
        assert.equal((events.at(-1)!.data as { occurredAt: string }).occurredAt, '2026-03-01T08:00:00+01:00');
      });
    });

    describe('a device clock running ahead', { skip }, () => {
      test('an occurredAt after the time received is taken as the time received, so later changes still count', async () => {
        const lead = await send(t, { body: { appUserId: 'future-1', firstName: 'Fut', occurredAt: '2099-01-01T00:00:00Z' } });
        assert.equal(lead.statusCode, 201, lead.body);
        const events = await t.db.store.readStream(`customer-${lead.json().customerId}`);
        assert.equal((events.find((e) => e.type === 'LeadCaptured')!.data as { occurredAt: string }).occurredAt, NOW.toISOString());
        const update = await send(t, { url: '/v1/app-events', body: { type: 'profile_updated', appUserId: 'future-1', profile: { firstName: 'Real' } } });
        assert.equal(update.statusCode, 200, update.body);
        const { state } = await loadCustomer(t.db.store, lead.json().customerId);
        assert.equal(state.profile.firstName, 'Real');
      });
    });

    describe('Idempotency-Key', { skip }, () => {
      test('same key and same body: the same status and body, replayed, and still one lead', async () => {
        const idempotencyKey = randomUUID();
        const first = await send(t, { rawBody: '{"appUserId":"idem-1","email":"idem1@example.com"}', idempotencyKey });
        assert.equal(first.statusCode, 201);
        // Another encoding of the same body (key order, spacing) is the same request.
        const again = await send(t, { rawBody: '{ "email": "idem1@example.com",\n "appUserId": "idem-1" }', idempotencyKey });
        assert.equal(again.statusCode, 201);
        assert.equal(again.body, first.body);
        assert.equal(again.headers['idempotent-replayed'], 'true');
        assert.equal(again.headers['content-type'], first.headers['content-type']);
        const { customerId } = first.json();
        const leads = (await t.db.store.readStream(`customer-${customerId}`)).filter((e) => e.type === 'LeadCaptured');
        assert.equal(leads.length, 1);
      });

      test('same key, different body (or another route): 422, nothing appended', async () => {
        const idempotencyKey = randomUUID();
        assert.equal((await send(t, { body: { appUserId: 'idem-2' }, idempotencyKey })).statusCode, 201);
        const before = await countEvents(t);
        assertProblem(await send(t, { body: { appUserId: 'idem-2', firstName: 'Changed' }, idempotencyKey }), 422, 'LEDGER_IDEMPOTENCY_KEY_REUSED');
        assertProblem(
          await send(t, { url: '/v1/app-events', body: { type: 'profile_updated', appUserId: 'idem-2', profile: { firstName: 'X' } }, idempotencyKey }),
          422,
          'LEDGER_IDEMPOTENCY_KEY_REUSED',
        );
        assert.equal(await countEvents(t), before);
      });

      test('keys are scoped per API key: another key may use the same Idempotency-Key', async () => {
        const idempotencyKey = randomUUID();
        const body = { appUserId: 'idem-3' };
        const mine = await send(t, { body, idempotencyKey });
        const theirs = await send(t, { body, idempotencyKey, apiKey: 'key-all' });
        assert.equal(theirs.statusCode, 201);
        assert.equal(theirs.headers['idempotent-replayed'], undefined);
        assert.equal(theirs.json().customerId, mine.json().customerId);
        assert.notDeepEqual(theirs.json().eventIds, mine.json().eventIds);
      });

      for (const concurrency of [2, 20]) {
        test(`${concurrency} concurrent identical requests: one lead, one customer, every answer the same 201 or a 409 in flight`, async () => {
          const idempotencyKey = randomUUID();
          const appUserId = `double-tap-${concurrency}`;
          const customersBefore = await countCustomers(t);
          const leadsBefore = await countEvents(t, 'LeadCaptured');
          const body = { appUserId, email: `${appUserId}@example.com`, firstName: 'Tap' };
          const responses = await Promise.all(Array.from({ length: concurrency }, () => send(t, { body, idempotencyKey })));

          const created = responses.filter((r) => r.statusCode === 201);
          const inFlight = responses.filter((r) => r.statusCode === 409);
          assert.equal(created.length + inFlight.length, concurrency, responses.map((r) => `${r.statusCode} ${r.body}`).join('\n'));
          assert.ok(created.length >= 1);
          assert.equal(new Set(created.map((r) => r.body)).size, 1);
          for (const r of inFlight) {
            assertProblem(r, 409, 'LEDGER_IDEMPOTENCY_KEY_IN_FLIGHT');
            assert.equal(r.headers['retry-after'], '1');
          }
          assert.equal(await countEvents(t, 'LeadCaptured'), leadsBefore + 1);
          assert.equal(await countCustomers(t), customersBefore + 1);

          // The client that heard 409 retries and gets the same answer.
          const retry = await send(t, { body, idempotencyKey });
          assert.equal(retry.statusCode, 201);
          assert.equal(retry.body, created[0]!.body);
        });
      }

      test('a lost record (pruned, or never stored) re-runs into the event store dedup: same body, no new events', async () => {
        const idempotencyKey = randomUUID();
        const body = { appUserId: 'idem-4' };
        const first = await send(t, { body, idempotencyKey });
        const before = await countEvents(t);
        await t.db.sql.query('delete from ledger_idempotency_keys where idempotency_key = $1', [idempotencyKey]);
        const again = await send(t, { body, idempotencyKey });
        assert.equal(again.statusCode, 201);
        assert.equal(again.body, first.body);
        assert.equal(await countEvents(t), before);
      });

      test('a key reused for another request after its record was pruned: 422, not the first request\'s answer, and the new request records nothing', async () => {
        const idempotencyKey = randomUUID();
        const first = await send(t, { body: { email: 'gina@example.com', appUserId: 'idem-gina' }, idempotencyKey });
        assert.equal(first.statusCode, 201, first.body);
        // The hourly prune, 24 hours later.
        await t.db.sql.query(`update ledger_idempotency_keys set created_at = now() - interval '25 hours' where idempotency_key = $1`, [idempotencyKey]);
        await pruneIdempotencyKeys(t.db.sql);
        const before = await countEvents(t);
        const problem = assertProblem(await send(t, { body: { email: 'harry@example.com', appUserId: 'idem-harry' }, idempotencyKey }), 422, 'LEDGER_IDEMPOTENCY_KEY_REUSED');
        assert.doesNotMatch(JSON.stringify(problem), /gina|cust_/, 'nothing of the first request is told');
        assert.equal(await countEvents(t), before);
        // The key stays free for its own request: the client's retry of the first is still its answer.
        const retry = await send(t, { body: { email: 'gina@example.com', appUserId: 'idem-gina' }, idempotencyKey });
        assert.equal(retry.statusCode, 201, retry.body);
        assert.equal(retry.body, first.body);
        // And the rejected one, sent with a key of its own, is recorded.
        assert.equal((await send(t, { body: { email: 'harry@example.com', appUserId: 'idem-harry' } })).statusCode, 201);
      });

      test('a request that died mid-flight frees its key when the lease lapses', async () => {
        const idempotencyKey = randomUUID();
        const body = { appUserId: 'idem-5' };
        const first = await send(t, { body, idempotencyKey });
        // As if the process had crashed after appending, before storing the response.
        await t.db.sql.query(
          `update ledger_idempotency_keys set state = 'in_flight', response_status = null, response_body = null,
                  claim_token = gen_random_uuid(), locked_until = now() + interval '1 minute'
            where idempotency_key = $1`,
          [idempotencyKey],
        );
        assertProblem(await send(t, { body, idempotencyKey }), 409, 'LEDGER_IDEMPOTENCY_KEY_IN_FLIGHT');
        await t.db.sql.query(`update ledger_idempotency_keys set locked_until = now() - interval '1 second' where idempotency_key = $1`, [idempotencyKey]);
        const recovered = await send(t, { body, idempotencyKey });
        assert.equal(recovered.statusCode, 201);
        assert.equal(recovered.body, first.body);
        assert.equal((await send(t, { body, idempotencyKey })).headers['idempotent-replayed'], 'true');
      });

      test('a failed request stores nothing: the same key works once the failure is gone', async () => {
        const idempotencyKey = randomUUID();
        const deletion = { type: 'account_deleted', appUserId: 'late-user' };
        assertProblem(await send(t, { url: '/v1/app-events', body: deletion, idempotencyKey }), 404, 'LEDGER_NOT_FOUND');
        await send(t, { body: { appUserId: 'late-user' } });
        const res = await send(t, { url: '/v1/app-events', body: deletion, idempotencyKey });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.headers['idempotent-replayed'], undefined);
      });

      test('completed keys past retention are pruned', async () => {
        await send(t, { body: { appUserId: 'idem-6' } });
        await t.db.sql.query(`update ledger_idempotency_keys set created_at = now() - interval '25 hours'`);
        const pruned = await pruneIdempotencyKeys(t.db.sql);
        assert.ok(pruned >= 1);
        const { rows } = await t.db.sql.query<{ n: string }>('select count(*)::text as n from ledger_idempotency_keys');
        assert.equal(rows[0]?.n, '0');
      });
    });

    describe('POST /v1/app-events', { skip }, () => {
      test('profile_updated records CustomerProfileUpdated and claims a new email', async () => {
        const { customerId } = (await send(t, { body: { appUserId: 'evt-1', email: 'old@example.com' } })).json();
        const res = await send(t, {
          url: '/v1/app-events',
          body: { type: 'profile_updated', appUserId: 'evt-1', profile: { email: 'New@Example.com', phone: null, firstName: 'Lin' } },
        });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.json().customerId, customerId);
        const events = await t.db.store.readStream(`customer-${customerId}`);
        assert.deepEqual(events.slice(-2).map((e) => [e.type, e.data]), [
          ['IdentityLinked', { occurredAt: NOW.toISOString(), kind: 'email', externalId: 'new@example.com' }],
          ['CustomerProfileUpdated', { occurredAt: NOW.toISOString(), email: 'New@Example.com', phone: null, firstName: 'Lin' }],
        ]);
        assert.equal(await t.db.store.resolveIdentity('email', 'new@example.com'), customerId);
      });

      test('account_deleted records CustomerDeleted in app', async () => {
        const { customerId } = (await send(t, { body: { appUserId: 'evt-2' } })).json();
        const res = await send(t, { url: '/v1/app-events', body: { type: 'account_deleted', appUserId: 'evt-2', reason: 'user request' } });
        assert.equal(res.statusCode, 200, res.body);
        const last = (await t.db.store.readStream(`customer-${customerId}`)).at(-1)!;
        assert.equal(last.type, 'CustomerDeleted');
        assert.deepEqual(last.data, { occurredAt: NOW.toISOString(), deletedIn: 'app', reason: 'user request' });
      });
    });
  });

  describe(`app API limits on ${target.name} (e2e)`, async () => {
    const skip = await target.skip();
    let t: TestApp;
    before(async () => {
      if (!skip) t = await startTestApp(target, { env: { LEDGER_RATE_LIMIT_APP_PER_SECOND: '3', LEDGER_BODY_LIMIT_BYTES: '1024' } });
    });
    after(async () => {
      await t?.close();
    });

    test('a body over the limit is 413, nothing appended', { skip }, async () => {
      const res = await send(t, { body: { appUserId: 'big', firstName: 'x'.repeat(1100) } });
      assertProblem(res, 413, 'LEDGER_BODY_TOO_LARGE');
      assert.equal(await countEvents(t), 0);
    });

    test('requests without a valid key are refused (401) without spending the rate limit: the app\'s own writes still go through', { skip }, async () => {
      // Past the bucket (3/s) many times over.
      for (let i = 0; i < 12; i += 1) assertProblem(await send(t, { body: { appUserId: `anon-${i}` }, apiKey: i % 2 ? null : 'not-a-key' }), 401, 'LEDGER_UNAUTHENTICATED');
      const own = await send(t, { body: { appUserId: 'own-write' } });
      assert.equal(own.statusCode, 201, own.body);
      assertProblem(await send(t, { body: { appUserId: 'wrong-scope' }, apiKey: 'key-read' }), 403, 'LEDGER_FORBIDDEN');
      // Let the bucket fill again for the next test.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
    });

    test('past the app rate limit: 429 with Retry-After', { skip }, async () => {
      const responses = [];
      for (let i = 0; i < 6; i += 1) responses.push(await send(t, { body: { appUserId: `rate-${i}` } }));
      const limited = responses.filter((r) => r.statusCode === 429);
      assert.ok(limited.length >= 1, responses.map((r) => r.statusCode).join(','));
      assertProblem(limited[0]!, 429, 'LEDGER_RATE_LIMITED');
      assert.equal(limited[0]!.headers['retry-after'], '1');
    });
  });
}
