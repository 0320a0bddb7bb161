import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LedgerAccess } from '../../services/cli/ledgerAccess.ts';
import * as unmatched from '../../services/cli/unmatched.ts';
import type { UnmatchedReport } from '../../services/operations/unmatchedDeliveries.ts';
import { redeliver, todaysSources } from '../../services/operations/redeliver.ts';
import { isDue, nextTryAt } from '../../services/operations/unmatchedRetry.ts';
import { capture } from '../support/capturedIo.ts';
import { databaseTargets } from '../support/databases.ts';
import { fixture, subscriptionEvent, type Json } from '../support/stripeEvents.ts';
import { signedStripeHeaders } from '../support/stripeSigning.ts';
import { directAccessOf, startTestApp, type TestApp } from '../support/testApp.ts';

// `ledger unmatched` (GET /admin/unmatched): what waits for a customer, what for, and when the
// service tries it next, for the engineer who wonders why a refund is not on its customer.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe('when the service tries a waiting delivery next', () => {
  test('the next step of its backoff after now: 1, 2, 4 … intervals after receipt; none past the window or with retrying off', () => {
    assert.equal(nextTryAt(0, 30_000, MINUTE, 72 * HOUR), MINUTE);
    assert.equal(nextTryAt(0, MINUTE, MINUTE, 72 * HOUR), 2 * MINUTE);
    assert.equal(nextTryAt(0, 5 * MINUTE, MINUTE, 72 * HOUR), 8 * MINUTE);
    assert.equal(nextTryAt(0, 4_096 * MINUTE, MINUTE, 72 * HOUR), null);
    assert.equal(nextTryAt(0, 30_000, 0, 72 * HOUR), null);
  });

  test('it is the moment the backoff pass finds it due', () => {
    for (let now = 1_000; now < 72 * HOUR; now = Math.ceil(now * 1.7)) {
      const next = nextTryAt(0, now, MINUTE, 72 * HOUR)!;
      assert.equal(isDue(0, now, next - 1, MINUTE), false, `not before ${next} (now ${now})`);
      assert.equal(isDue(0, now, next, MINUTE), true, `at ${next} (now ${now})`);
    }
  });
});

for (const target of databaseTargets) {
  describe(`ledger unmatched on ${target.name} (e2e)`, async () => {
    const skip = await target.skip();
    let t: TestApp;
    let access: LedgerAccess;
    before(async () => {
      if (skip) return;
      t = await startTestApp(target);
      access = directAccessOf(t);
    });
    after(async () => {
      await t?.close();
    });

    const deliver = (event: Json) => {
      const payload = JSON.stringify(event);
      return t.app.inject({ method: 'POST', url: '/webhooks/stripe', headers: signedStripeHeaders(payload), payload });
    };
    // A full refund of a charge nobody is known by yet; the receipt's e-mail is never shown.
    const refundOf = (n: string) => {
      const refund: Json = { ...fixture('charge.refunded'), id: `evt_uc_${n}` };
      Object.assign(refund.data.object, { id: `ch_uc_${n}`, customer: null, invoice: `in_uc_${n}`, payment_intent: `pi_uc_${n}`, receipt_email: `${n}@example.com`, billing_details: null });
      return refund;
    };

    test('lists what waits, oldest first, with its claims and next try; a matched one is gone', { skip }, async () => {
      const old = (await deliver(refundOf('old'))).json();
      const young = (await deliver(refundOf('young'))).json();
      const matched = (await deliver(refundOf('matched'))).json();
      for (const response of [old, young, matched]) assert.equal(response.facts[0].outcome, 'unmatched');
      await t.db.sql.query(`update ledger_inbox set received_at = now() - interval '80 hours' where id = $1::bigint`, [old.inboxId]);
      // The third one's invoice arrives and a redelivery matches it.
      const customer = 'cus_uc_matched';
      const paid: Json = { ...fixture('invoice.paid'), id: 'evt_uc_matched_paid' };
      Object.assign(paid.data.object, { id: 'in_uc_matched', customer, subscription: 'sub_uc_matched', charge: 'ch_uc_matched', payment_intent: 'pi_uc_matched' });
      for (const event of [{ ...subscriptionEvent('customer.subscription.created', { id: 'sub_uc_matched', customer, status: 'active' }), id: 'evt_uc_matched_sub' }, paid]) {
        assert.equal((await deliver(event)).statusCode, 200);
      }
      await redeliver({ store: t.db.store, sql: t.db.sql, now: () => new Date() }, todaysSources(t.config), { inboxId: matched.inboxId });

      const now = new Date();
      const asJson = capture();
      assert.equal(await unmatched.execute(access, unmatched.parse(['--json']), asJson, () => now), 0);
      const report = JSON.parse(asJson.stdout()) as UnmatchedReport;
      assert.deepEqual(report.retry, { intervalSeconds: 60, windowHours: 72 });
      assert.deepEqual(
        report.deliveries.map((d) => [d.inboxId, d.correlationId, d.outcome, d.waitingFor]),
        [
          [old.inboxId, old.correlationId, 'unmatched', ['stripe_charge:ch_uc_old', 'stripe_payment_intent:pi_uc_old', 'stripe_invoice:in_uc_old']],
          [young.inboxId, young.correlationId, 'unmatched', ['stripe_charge:ch_uc_young', 'stripe_payment_intent:pi_uc_young', 'stripe_invoice:in_uc_young']],
        ],
      );
      const [past, waiting] = report.deliveries;
      assert.equal(past?.nextTryAt, null);
      assert.equal(waiting?.nextTryAt, new Date(Date.parse(waiting!.receivedAt) + MINUTE).toISOString());
      assert.doesNotMatch(asJson.stdout(), /@example\.com/);

      const text = capture();
      assert.equal(await unmatched.execute(access, unmatched.parse([]), text, () => now), 0);
      const out = text.stdout();
      assert.match(out, new RegExp(`#${old.inboxId}\\s+stripe\\s+.*past the window\\s+${old.correlationId}\\s+stripe_charge:ch_uc_old, stripe_payment_intent:pi_uc_old, stripe_invoice:in_uc_old\\n`));
      assert.match(out, /^2 waiting for a customer\. Tried again when a delivery brings one of those ids, and on a backoff \(60 s, doubling\) for 72 h\.$/m);
      assert.match(out, /^1 past the window: `ledger redeliver <inbox id>`/m);
      assert.doesNotMatch(out, /ch_uc_matched|@example\.com/);
    });

    test('through the service: GET /admin/unmatched for a viewer, the same report; not for a read key', { skip }, async () => {
      const viewer = await t.app.inject({ method: 'GET', url: '/admin/unmatched', headers: { authorization: 'Bearer key-viewer' } });
      assert.equal(viewer.statusCode, 200);
      const direct = capture();
      await unmatched.execute(access, unmatched.parse(['--json']), direct);
      assert.deepEqual(
        viewer.json<UnmatchedReport>().deliveries.map((d) => d.inboxId),
        (JSON.parse(direct.stdout()) as UnmatchedReport).deliveries.map((d) => d.inboxId),
      );
      assert.equal((await t.app.inject({ method: 'GET', url: '/admin/unmatched', headers: { authorization: 'Bearer key-read' } })).statusCode, 403);
      assert.equal((await t.app.inject({ method: 'GET', url: '/admin/unmatched' })).statusCode, 401);
    });

    test('nothing waiting says so', { skip }, async () => {
      await t.db.sql.query(`update ledger_inbox set matched_at = now() where matched_at is null`);
      const io = capture();
      assert.equal(await unmatched.execute(access, unmatched.parse([]), io), 0);
      assert.equal(io.stdout(), 'No delivery is waiting for a customer.\n');
    });
  });
}
