import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { CONFIG_VARIABLES } from '../../contracts/config.ts';
import type { NewEvent } from '../../contracts/eventMetadata.ts';
import type { CustomerCommand } from '../../domain/customerDecider.ts';
import { listAudit } from '../../services/admin/auditLog.ts';
import * as events from '../../services/cli/events.ts';
import type { LedgerAccess } from '../../services/cli/ledgerAccess.ts';
import * as parked from '../../services/cli/parked.ts';
import * as replay from '../../services/cli/replay.ts';
import * as state from '../../services/cli/state.ts';
import type { EventStore } from '../../services/eventstore/port.ts';
import type { CustomerDecider } from '../../services/operations/replay.ts';
import { createProjector } from '../../services/projector/readModelRunners.ts';
import { recordHistories } from '../support/customerHistories.ts';
import { databaseTargets, POSTGRES_URL } from '../support/databases.ts';
import { migratedDataDir } from '../support/migratedDataDir.ts';
import { startLedgerProcess, type ServedProcess } from '../support/servedProcess.ts';
import { signedStripeHeaders, stripeFixture } from '../support/stripeSigning.ts';
import { directAccessOf, startTestApp, TEST_ENV, type TestApp } from '../support/testApp.ts';
import { capture } from '../support/capturedIo.ts';
import { activated, lead, refunded, refundsChangeNothing, trial } from '../unit/recordedStreams.ts';

// The incident commands (`ledger events | state | replay | parked`): in-process against each
// store, then as real processes — through a running `ledger serve` that holds the embedded
// store (remote), and straight against PostgreSQL (direct).

// History decided by other rules ("yesterday's"), appended as the service appends: each
// command's events together, at the expected version.
async function recordWith(store: EventStore, decider: CustomerDecider, customerId: string, commands: CustomerCommand[]): Promise<void> {
  let state = decider.initialState;
  let version: number | 'no_stream' = 'no_stream';
  for (const [i, command] of commands.entries()) {
    const decided = decider.decide(command, state, { now: '2026-02-01T00:00:00Z' });
    state = decided.reduce(decider.evolve, state);
    const metadata = { customerId, occurredAt: '2026-02-01T00:00:00Z', source: 'stripe' as const, sourceEventId: `evt_${customerId}_${i}`, correlationId: `corr-${customerId}-${i}` };
    const batch: NewEvent[] = decided.map((event) => ({ ...event, metadata }));
    version = (await store.append(`customer-${customerId}`, batch, { expectedVersion: version })).nextVersion;
  }
}

// recordHistories gives customers n = 0, 7, 14 … a full refund: the ones a refund rule change touches.
const HISTORIES = 10;
const REFUNDED = ['user_h0', 'user_h7'];

for (const target of databaseTargets) {
  describe(`incident commands in-process on ${target.name} (e2e)`, async () => {
    const skip = await target.skip();
    let t: TestApp;
    let access: LedgerAccess;
    before(async () => {
      if (skip) return;
      t = await startTestApp(target);
      await recordHistories(t.db.store, HISTORIES);
      access = directAccessOf(t);
    });
    after(async () => {
      await t?.close();
    });

    test('events: an aligned timeline, and --json with the admin API’s shape', { skip }, async () => {
      const io = capture();
      assert.equal(await events.execute(access, events.parse(['app:user_h7']), io), 0);
      const lines = io.stdout().split('\n');
      assert.match(lines[0]!, /^cust_\w+ {2}refunded {2}version 10 {2}app:user_h7$/);
      assert.match(lines[2]!, /^ *# +occurred \(UTC\) +recorded \(UTC\) +source +source event +event +summary +correlation +state after$/);
      const refund = lines.find((line) => line.includes('RefundIssued'))!;
      assert.match(refund, /2026-01-01 00:00:08 .* app +h7-5 +RefundIssued +refunded 29\.00 usd of 29\.00 usd ch_h7 +corr-h7-5 +active$/);
      assert.match(lines.find((line) => line.includes('LifecycleChanged') && line.includes('refunded'))!, /active → refunded \(RefundIssued\) .* refunded$/);
      // Columns line up: every row has `state after` where the header has it.
      const column = lines[2]!.indexOf('state after');
      assert.ok(lines.slice(3, -1).every((line) => /^[a-z_]+$/.test(line.slice(column))), io.stdout());

      const asJson = capture();
      await events.execute(access, events.parse(['app:user_h7', '--json']), asJson);
      const timeline = JSON.parse(asJson.stdout());
      const viaApi = await t.app.inject({ method: 'GET', url: '/admin/customers/app:user_h7/timeline', headers: { authorization: 'Bearer key-viewer' } });
      assert.deepEqual(timeline, viaApi.json());
    });

    test('events: an unknown customer is a LedgerError the CLI reports in one line', { skip }, async () => {
      await assert.rejects(events.execute(access, events.parse(['stripe:cus_nobody']), capture()), { code: 'LEDGER_NOT_FOUND' });
    });

    test('state --at: the customer and its views as they were', { skip }, async () => {
      const io = capture();
      assert.equal(await state.execute(access, state.parse(['app:user_h7', '--at', '6']), io), 0);
      assert.match(io.stdout(), /as of version 6/);
      assert.match(io.stdout(), /lifecycle +active/);
      assert.match(io.stdout(), /crm view\n(.*\n)* +stage +customer/);
      const now = capture();
      await state.execute(access, state.parse(['app:user_h7', '--json']), now);
      assert.equal(JSON.parse(now.stdout()).state.lifecycle, 'refunded');
    });

    test('replay --all: today’s rules agree with history → exit 0', { skip }, async () => {
      const io = capture();
      assert.equal(await replay.execute(access, replay.parse(['--all']), io), 0);
      assert.match(io.stdout(), new RegExp(`^${HISTORIES} customers, \\d+ inputs compared: no difference from today's rules\\n$`));
      assert.match(io.stderr(), new RegExp(`replayed ${HISTORIES} customers, 0 with differences`));
    });

    test('replay --all with a rule change: exactly the affected customers, exit 1', { skip }, async () => {
      const io = capture();
      assert.equal(await replay.execute(access, replay.parse(['--all', '--json']), io, refundsChangeNothing), 1);
      const report = JSON.parse(io.stdout());
      const expected = await Promise.all(REFUNDED.map((user) => t.db.store.resolveIdentity('app', user)));
      assert.deepEqual([...report.affectedCustomers].sort(), [...expected].sort());
      assert.ok(report.differences.every((d: { input: string; recorded: string[]; today: string[] }) => d.input === 'RefundIssued' && d.recorded[0] === 'LifecycleChanged → refunded' && d.today.length === 0));

      const table = capture();
      assert.equal(await replay.execute(access, replay.parse(['app:user_h7']), table, refundsChangeNothing), 1);
      assert.match(table.stdout(), /RefundIssued +h7-5 +LifecycleChanged → refunded +\(none\)/);
      assert.match(table.stdout(), /1 difference in 1 customer/);
      assert.equal(await replay.execute(access, replay.parse(['app:user_h3']), capture(), refundsChangeNothing), 0);
    });

    test('replay --since: only what was recorded since is compared', { skip }, async () => {
      const future = new Date(Date.now() + 60_000).toISOString();
      const io = capture();
      assert.equal(await replay.execute(access, replay.parse(['--all', '--since', future]), io, refundsChangeNothing), 0);
      assert.match(io.stdout(), /^0 customers/);
      // An age, as `ledger redeliver --since` takes it: 2d is two days before now.
      const twoDaysAgo = Date.parse(replay.parse(['--all', '--since', '2d']).since!);
      assert.ok(Math.abs(Date.now() - 2 * 86_400_000 - twoDaysAgo) < 60_000);
      assert.throws(() => replay.parse(['--all', '--since', 'yesterday']), /ISO 8601 time or an age/);
    });

    test('parked: list, skip with a reason; a direct change is audited as the operator', { skip }, async () => {
      const customerId = (await t.db.store.resolveIdentity('app', 'user_h3'))!;
      const metadata = { customerId, occurredAt: '2026-03-01T00:00:00Z', source: 'app' as const, correlationId: 'poison' };
      await t.db.store.append(`customer-${customerId}`, [{ type: 'TicketOpened', schemaVersion: 1, data: { ticketId: 42 }, metadata }], { expectedVersion: 'any' });
      await createProjector(t.db, t.config, undefined, { maxAttempts: 1 }).catchUp();

      const list = capture();
      assert.equal(await parked.execute(access, parked.parse(['list', '--projection', 'support']), list), 0);
      const row = list.stdout().split('\n').find((line) => line.includes(customerId))!;
      assert.match(row, /^ *\d+ +support +cust_\w+ +\d+ +failed +1 +[\d-]+ [\d:]+ +LedgerError: TicketOpened/);
      const id = row.trim().split(/\s+/)[0]!;

      const previous = process.env.LEDGER_ACTOR;
      process.env.LEDGER_ACTOR = 'ada.oncall';
      try {
        const skipped = capture();
        assert.equal(await parked.execute(access, parked.parse(['skip', id, '--reason', 'ticket id was a number: fixed upstream']), skipped), 0);
        assert.match(skipped.stdout(), new RegExp(`support ${customerId}: applied 0, still parked 0`));
        await assert.rejects(parked.execute(access, parked.parse(['skip', id, '--reason', 'again']), capture()), { code: 'LEDGER_ILLEGAL_STATE' });
      } finally {
        if (previous === undefined) delete process.env.LEDGER_ACTOR;
        else process.env.LEDGER_ACTOR = previous;
      }
      const { entries } = await listAudit(t.db.sql, { limit: 10, target: id });
      assert.deepEqual(
        entries.map((e) => [e.principal, e.role, e.method, e.route, e.reason, e.status]),
        [
          ['cli:ada.oncall', 'direct', 'CLI', 'ledger parked skip', 'again', 409],
          ['cli:ada.oncall', 'direct', 'CLI', 'ledger parked skip', 'ticket id was a number: fixed upstream', 200],
        ],
      );
      const { rows } = await t.db.sql.query<{ resolved_by: string }>('select resolved_by from ledger_parked_events where id = $1::bigint', [id]);
      assert.equal(rows[0]?.resolved_by, 'cli:ada.oncall');
    });
  });
}

// --- real processes -----------------------------------------------------------------------------

function ledger(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = { ...process.env };
  for (const name of [...CONFIG_VARIABLES, 'LEDGER_URL', 'LEDGER_API_KEY', 'LEDGER_ACTOR']) delete base[name];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/ledger.js', ...args],
      { env: { ...base, ...TEST_ENV, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function deliverLife(url: string, customer: string): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const created = stripeFixture('customer.subscription.created');
  Object.assign(created.data.object, { customer, id: `sub_${customer}`, status: 'trialing', trial_end: now + 86_400 });
  const paid = stripeFixture('invoice.paid');
  Object.assign(paid.data.object, { customer, subscription: `sub_${customer}`, id: `in_${customer}`, charge: `ch_${customer}` });
  for (const [i, event] of [created, paid].entries()) {
    const body = JSON.stringify({ ...event, id: `evt_${customer}_${i}`, created: now - 100 + i * 10 });
    const res = await fetch(`${url}/webhooks/stripe`, { method: 'POST', headers: signedStripeHeaders(body), body });
    assert.equal(res.status, 200, await res.text());
  }
}

describe('`ledger events` (and the other incident commands) as processes, through a running `ledger serve` on PGlite (remote)', async () => {
  const dataDir = await migratedDataDir('ledger-incident-');
  let served: ServedProcess;
  before(async () => {
    served = await startLedgerProcess(['serve'], { LEDGER_DATA_DIR: dataDir });
    await deliverLife(served.url, 'cus_remoteCli');
  });
  after(async () => {
    served?.child.kill('SIGTERM');
    await served?.exited;
    rmSync(dataDir, { recursive: true, force: true });
  });
  const remote = (key?: string) => ({ LEDGER_DATA_DIR: dataDir, LEDGER_URL: served.url, ...(key ? { LEDGER_API_KEY: key } : {}) });

  test('the timeline comes from the service’s admin API; the files are not opened twice', async () => {
    const result = await ledger(['events', 'stripe:cus_remoteCli'], remote('key-viewer'));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^cust_\w+ {2}active {2}version \d+ {2}stripe:cus_remoteCli/);
    assert.match(result.stdout, /TrialStarted +trial on .* +lead\n/);
    assert.match(result.stdout, /stripe invoice\.paid +evt_cus_remoteCli_1 +PaymentSucceeded +paid 20\.00 usd in_cus_remoteCli/);
    assert.match(result.stdout, /LifecycleChanged +trial → active \(PaymentSucceeded\) .* active\n/);
    assert.ok(!result.stdout.includes('\u001b['), 'no colour into a pipe');
    // The service audited the read under the key's principal.
    const audit = (await fetch(`${served.url}/admin/audit?limit=5`, { headers: { authorization: 'Bearer key-admin' } }).then((r) => r.json())) as {
      entries: { route: string; role: string }[];
    };
    assert.ok(audit.entries.some((e) => e.route === '/admin/customers/:ref/timeline' && e.role === 'viewer'));
  });

  test('state, replay and parked go the same way; without a key the CLI says what to set', async () => {
    const stateResult = await ledger(['state', 'stripe:cus_remoteCli', '--at', '2', '--json'], remote('key-viewer'));
    assert.equal(stateResult.code, 0, stateResult.stderr);
    assert.equal(JSON.parse(stateResult.stdout).asOf.version, 2);
    const replayed = await ledger(['replay', '--all'], remote('key-viewer'));
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.match(replayed.stdout, /1 customer, 3 inputs compared: no difference/);
    assert.match(replayed.stderr, /replayed 1 customers, 0 with differences/);
    assert.equal((await ledger(['parked', 'list'], remote('key-viewer'))).code, 0);
    const status = await ledger(['projections', 'status'], remote('key-viewer'));
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^crm +position +\d+ +lag +\d+ events/m);

    const viewerRetry = await ledger(['parked', 'retry', '--all'], remote('key-viewer'));
    assert.equal(viewerRetry.code, 1);
    assert.match(viewerRetry.stderr, /403 LEDGER_FORBIDDEN/);
    const noKey = await ledger(['events', 'stripe:cus_remoteCli'], remote());
    assert.equal(noKey.code, 1);
    assert.match(noKey.stderr, /holds the embedded store .* set LEDGER_API_KEY/);
    const usage = await ledger(['events'], remote('key-viewer'));
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /Usage: ledger events/);
  });
});

describe('`ledger events` and `ledger replay` as processes, straight against PostgreSQL (direct)', async () => {
  const [, postgres] = databaseTargets;
  const skip = await postgres!.skip();
  let t: TestApp;
  let databaseUrl: string;
  before(async () => {
    if (skip) return;
    t = await startTestApp(postgres!);
    const { rows } = await t.db.sql.query<{ schema: string }>('select current_schema() as schema');
    const url = new URL(POSTGRES_URL);
    url.searchParams.set('options', `-c search_path=${rows[0]!.schema}`);
    databaseUrl = url.toString();
    await recordHistories(t.db.store, 3);
    // One customer whose history was decided by other rules: refunds then changed nothing.
    await recordWith(t.db.store, refundsChangeNothing, 'cust_decidedYesterday', [lead(0), trial(1), activated(2), refunded(3)]);
  });
  after(async () => {
    await t?.close();
  });

  test('events reads the store directly', { skip }, async () => {
    const result = await ledger(['events', 'app:user_h1', '--json'], { DATABASE_URL: databaseUrl });
    assert.equal(result.code, 0, result.stderr);
    const timeline = JSON.parse(result.stdout);
    assert.equal(timeline.lifecycle, 'active');
    assert.deepEqual(timeline.identities, [{ kind: 'app', externalId: 'user_h1' }]);
    assert.equal(timeline.entries.at(-1).sourceEventId, 'h1-4');
  });

  test('replay exits 1 naming the customer today’s rules disagree with, 0 for one they agree with', { skip }, async () => {
    const all = await ledger(['replay', '--all'], { DATABASE_URL: databaseUrl });
    assert.equal(all.code, 1, all.stderr);
    assert.match(all.stdout, /cust_decidedYesterday +\d+ .* RefundIssued +evt_cust_decidedYesterday_3 +\(none\) +LifecycleChanged → refunded/);
    assert.match(all.stdout, /4 customers, \d+ inputs compared: 1 difference in 1 customer/);
    const clean = await ledger(['replay', 'app:user_h2'], { DATABASE_URL: databaseUrl });
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    // A customer it cannot find is no verdict: 2, so a deploy gate does not read it as "differs".
    const unknown = await ledger(['replay', 'app:user_nobody'], { DATABASE_URL: databaseUrl });
    assert.equal(unknown.code, 2, unknown.stdout + unknown.stderr);
    assert.equal(unknown.stderr, 'ledger: LEDGER_NOT_FOUND: No customer matches this reference\n');
  });
});
