import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { domainEvent, type FactEvent } from '../../contracts/domainEvents.ts';
import { supportReadModel, type SupportOptions } from '../../projections/readModels.ts';
import type { ReadModel } from '../../projections/projection.ts';
import { handleCommand } from '../../services/commands/handleCommand.ts';
import { loadConfig } from '../../services/config.ts';
import type { LedgerDatabase } from '../../services/eventstore/database.ts';
import { buildApp } from '../../services/http/app.ts';
import { drainCustomer } from '../../services/projector/parkedEvents.ts';
import { ProjectionRunner } from '../../services/projector/projectionRunner.ts';
import type { Telemetry } from '../../services/telemetry/activeTelemetry.ts';
import { startTelemetry } from '../../services/telemetry/telemetrySdk.ts';
import { resetTicketStreaks } from '../../services/telemetry/ticketSegments.ts';
import { describeOnEachDatabase, untilOlderTransactionsEnd } from '../support/databases.ts';
import { parsePrometheusText, total } from '../support/prometheusText.ts';
import { TEST_ENV } from '../support/testApp.ts';

// Ticket routing health by customer segment, as the "failing more than 3 times in a row" alert
// reads it: a support event that parks counts as a failure for the customer's segment, a ticket
// event routed resets the streak. The support read model here is the real one, except that it
// cannot route a ticket titled "poison" until `fixed` (a bug and its fix).

let fixed = false;
const support: ReadModel<unknown, unknown, SupportOptions> = {
  ...(supportReadModel as ReadModel<unknown, unknown, SupportOptions>),
  apply(doc, input, context) {
    if (!fixed && input.event.type === 'TicketOpened' && input.event.data.subject === 'poison') throw new Error('cannot route poison');
    return (supportReadModel as ReadModel<unknown, unknown, SupportOptions>).apply(doc, input, context);
  },
};

const at = (second: number) => `2026-02-01T00:00:${String(second).padStart(2, '0')}Z`;
const ticket = (second: number, ticketId: string, subject: string) =>
  domainEvent('TicketOpened', { occurredAt: at(second), ticketId, subject, status: 'open', tags: [] });
const subscribed = (second: number) =>
  domainEvent('SubscriptionActivated', { occurredAt: at(second), subscriptionId: 'sub_vip', plan: { priceId: 'price_pro', nickname: 'Pro' }, mrrCents: 4900, currency: 'usd' });

let telemetry: Telemetry;
before(() => {
  telemetry = startTelemetry({ spanProcessors: [] });
});
after(() => telemetry.stop());

describeOnEachDatabase('support routing metrics', (suite) => {
  const { skip } = suite;
  let db: LedgerDatabase;
  before(() => {
    if (!skip) db = suite.db;
  });

  test('parked support events count as failures for the customer’s segment, in a row, until a ticket routes', { skip }, async () => {
    fixed = false;
    resetTicketStreaks();
    const config = loadConfig({ ...TEST_ENV });
    const app = buildApp({ db, config });
    const scrape = async () => parsePrometheusText((await app.inject({ method: 'GET', url: '/metrics' })).body);
    const before = await scrape();
    const record = (external: string, fact: FactEvent) =>
      handleCommand(
        { store: db.store, now: () => new Date() },
        {
          command: { type: 'RecordFact', fact },
          identities: [{ kind: 'support', externalId: external }],
          createIfMissing: true,
          metadata: { source: 'support', correlationId: `corr-${external}-${fact.data.occurredAt}` },
        },
      );
    // A VIP (MRR at the threshold) whose first ticket cannot be routed; three more wait behind it.
    const vip = (await record('req_vip', subscribed(1))).customerId;
    await record('req_vip', ticket(2, 'tk_1', 'poison'));
    for (const n of [3, 4, 5]) await record('req_vip', ticket(n, `tk_${n}`, 'Where is my invoice?'));
    // A lead without a plan, routed fine.
    await record('req_lead', ticket(6, 'tk_6', 'Hello'));

    const runner = new ProjectionRunner(db.sql, support, { vipMrrCents: 4900 }, { maxAttempts: 1 }) as ProjectionRunner<unknown>;
    await untilOlderTransactionsEnd(db.sql);
    await runner.runBatch();
    let now = await scrape();
    const delta = (name: string, where: Record<string, string>) => total(now, name, where) - total(before, name, where);
    assert.equal(delta('ledger_support_ticket_events_total', { segment: 'vip', outcome: 'failed' }), 4);
    assert.equal(delta('ledger_support_ticket_events_total', { segment: 'none', outcome: 'routed' }), 1);
    assert.equal(total(now, 'ledger_support_ticket_failure_streak', { segment: 'vip' }), 4, 'above the alert’s 3');
    assert.equal(total(now, 'ledger_support_ticket_failure_streak', { segment: 'none' }), 0);
    assert.equal(total(now, 'ledger_projection_parked_events', { read_model: 'support' }), 4, 'the "any parked event" alert sees them');

    // The fix, the retry, and the next ticket for that customer routes: the streak ends.
    fixed = true;
    await drainCustomer(db.sql, runner, vip, 'test');
    await record('req_vip', ticket(7, 'tk_7', 'Thanks'));
    await untilOlderTransactionsEnd(db.sql);
    await runner.runBatch();
    now = await scrape();
    assert.equal(total(now, 'ledger_support_ticket_failure_streak', { segment: 'vip' }), 0);
    assert.equal(delta('ledger_support_ticket_events_total', { segment: 'vip', outcome: 'routed' }), 1);
    assert.equal(total(now, 'ledger_projection_parked_events', { read_model: 'support' }), 0);
    await app.close();
  });
});
