import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { createLedgerClient, newIdempotencyKey } from '../../contracts/client/ledgerClient.ts';
import { databaseTargets } from '../support/databases.ts';
import { signedStripeHeaders, stripeFixture } from '../support/stripeSigning.ts';
import { startTestApp, type TestApp } from '../support/testApp.ts';

test('the app client imports types only: nothing Node-specific reaches an Expo bundle', () => {
  const source = readFileSync(new URL('../../contracts/client/ledgerClient.ts', import.meta.url), 'utf8');
  const imports = source.split('\n').filter((line) => /^import\s/.test(line));
  assert.ok(imports.length > 0);
  for (const line of imports) assert.match(line, /^import type /, line);
  assert.doesNotMatch(source, /\bprocess\.|\bBuffer\b|require\(|node:/);
});

for (const target of databaseTargets) {
  describe(`app client against a listening service on ${target.name}`, async () => {
    const skip = await target.skip();
    let ledger: TestApp;
    let baseUrl: string;
    before(async () => {
      if (skip) return;
      ledger = await startTestApp(target);
      baseUrl = await ledger.app.listen({ host: '127.0.0.1', port: 0 });
      await ledger.projector.start();
    });
    after(async () => {
      if (ledger) await ledger.close();
    });

    test('a double tap submits one lead; a purchase is seen by waitForChange', { skip }, async () => {
      const client = createLedgerClient({ baseUrl, apiKey: 'key-app' });
      const key = newIdempotencyKey();
      const lead = { email: 'tap@example.com', appUserId: 'user_tap', firstName: 'Tap' };
      const [one, two] = await Promise.all([client.submitLead(lead, key), client.submitLead(lead, key)]);
      assert.equal(one.customerId, two.customerId);
      assert.deepEqual(one.eventIds, two.eventIds);

      // The projector runs asynchronously: wait for the lead's first entitlements document.
      const projected = await client.waitForChange('app:user_tap', 0, 5_000);
      assert.ok(projected, 'the lead was projected');
      const first = await client.getEntitlements('app:user_tap');
      assert.equal(first.status, 'ok');
      if (first.status !== 'ok') return;
      assert.equal(first.entitlements.hasAccess, false, 'a lead has no access');
      assert.deepEqual(await client.getEntitlements('app:user_tap', { etag: first.etag! }), { status: 'not_modified' });

      // The purchase arrives from Stripe for the same person (linked by e-mail).
      const event = stripeFixture('customer.subscription.created');
      event.id = 'evt_client_purchase';
      event.created = Math.floor(Date.now() / 1000);
      const customer = stripeFixture('customer.created');
      customer.id = 'evt_client_customer';
      customer.data.object.email = 'tap@example.com';
      customer.data.object.id = 'cus_client';
      (event.data.object as Record<string, unknown>).customer = 'cus_client';
      const waiting = client.waitForChange('app:user_tap', first.entitlements.version, 5_000);
      for (const body of [JSON.stringify(customer), JSON.stringify(event)]) {
        const r = await fetch(`${baseUrl}/webhooks/stripe`, { method: 'POST', headers: signedStripeHeaders(body), body });
        assert.equal(r.status, 200, await r.text());
      }
      let seen = await waiting;
      // The profile link and the subscription may land in two projector batches.
      while (seen && !seen.hasAccess) seen = await client.waitForChange('app:user_tap', seen.version, 5_000);
      assert.equal(seen?.hasAccess, true);
    });

    test('a bad lead is refused with the contract code, not retried', { skip }, async () => {
      const client = createLedgerClient({ baseUrl, apiKey: 'key-app', retryDelayMs: 1 });
      await assert.rejects(client.submitLead({ firstName: 'Nobody' }), (e: Error & { status?: number; code?: string }) => e.status === 400 && e.code === 'LEDGER_VALIDATION');
    });
  });
}
