import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { percentile, readCapture } from '../../services/operations/webhookReplay.ts';
import { migratedDataDir } from '../support/migratedDataDir.ts';
import { freePort, startLedgerProcess, type ServedProcess } from '../support/servedProcess.ts';
import { FIXTURES, stripeFixture as fixture } from '../support/stripeSigning.ts';
import { TEST_ENV } from '../support/testApp.ts';

// `ledger webhooks replay` against a real `ledger serve`: captured deliveries re-signed with the
// environment's secrets are accepted; signed with the wrong one they are refused, and the
// summary and the exit code say so.

const shared = (path: string) => readFileSync(join(FIXTURES, path), 'utf8').trim();

function captureFile(dir: string): string {
  const created = { ...fixture('customer.created'), id: 'evt_rp_1' };
  created.data.object = { ...created.data.object, id: 'cus_rp1', email: 'replay@example.com' };
  const paid = { ...fixture('invoice.paid'), id: 'evt_rp_2' };
  paid.data.object = { ...paid.data.object, customer: 'cus_rp1', id: 'in_rp2' };
  const lines = [
    // A Stripe body alone, as a provider dashboard exports it.
    JSON.stringify(created),
    // Captures as the inbox keeps them, with a stale signature header that must not be reused.
    JSON.stringify({ source: 'stripe', body: JSON.stringify(paid), headers: { 'stripe-signature': 't=1,v1=00', 'x-correlation-id': 'replay-2' } }),
    '',
    shared('crm/contact.creation.v1-doc-vector.json'),
    JSON.stringify({ body: JSON.parse(shared('support/ticket.created.json')), headers: { 'user-agent': 'Zendesk Webhook' } }),
  ];
  const file = join(dir, 'captured.ndjson');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('ledger webhooks replay (e2e)', () => {
  let served: ServedProcess;
  let dir: string;
  let dataDir: string;
  let file: string;
  const ledger = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['bin/ledger.js', 'webhooks', 'replay', ...args], {
      env: { ...process.env, ...TEST_ENV, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
  const secrets = ['--secret-env', 'stripe=STRIPE_WEBHOOK_SECRET', '--secret-env', 'crm=HUBSPOT_CLIENT_SECRET', '--secret-env', 'support=ZENDESK_WEBHOOK_SECRET'];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-replay-'));
    file = captureFile(dir);
    dataDir = await migratedDataDir('ledger-replay-store-');
    served = await startLedgerProcess(['serve'], { LEDGER_DATA_DIR: dataDir });
  });
  after(async () => {
    served.child.kill('SIGTERM');
    await served.exited;
    rmSync(dir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('re-signed with the environment’s secrets, every delivery is accepted', async () => {
    const result = ledger([file, '--to', served.url, ...secrets, '--concurrency', '2']);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /replayed 4 deliveries/);
    assert.match(result.stdout, /^ {2}200 +4$/m);
    assert.match(result.stdout, /latency {2}p50 [\d.]+ ms {2}p95 [\d.]+ ms {2}p99 [\d.]+ ms/);
    assert.match(result.stdout, /success rate 100\.0 % \(4\/4 answered 2xx\)/);

    // The service really took them in: the Stripe customer exists and has paid.
    const customer = await fetch(`${served.url}/v1/customers/stripe:cus_rp1`, { headers: { authorization: 'Bearer key-read' } });
    assert.equal(customer.status, 200);
    const view = (await customer.json()) as { lastPayment: { amountCents: number } | null; profile: { email: string | null } };
    assert.equal(view.profile.email, 'replay@example.com');
    assert.ok(view.lastPayment !== null && view.lastPayment.amountCents > 0);

    // Sent again: duplicates, still 2xx (what a provider's retry gets).
    const again = ledger([file, '--to', served.url, ...secrets, '--json']);
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout).byStatus, { 200: 4 });
  });

  test('signed with the wrong secret: 400s in the summary, the codes per line, exit 1', () => {
    const result = ledger([file, '--to', served.url, '--secret-env', 'WRONG_SECRET'], { WRONG_SECRET: 'whsec_not_this_environment' });
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stdout, /^ {2}400 +4$/m);
    assert.match(result.stdout, /success rate 0\.0 % \(0\/4 answered 2xx\)/);
    assert.match(result.stdout, /line 1: 400 LEDGER_SIGNATURE_INVALID/);
    assert.match(result.stdout, /line 5: 400 LEDGER_SIGNATURE_INVALID/);
    assert.doesNotMatch(result.stdout + result.stderr, /whsec_not_this_environment/);
  });

  test('a target that does not answer: each failing line says why (the network error’s code and message), exit 1', async () => {
    const port = await freePort();
    const refused = ledger([file, '--to', `http://127.0.0.1:${port}`, ...secrets]);
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stdout, /^ {2}error +4$/m);
    assert.match(refused.stdout, new RegExp(`^ {2}line 1: error ECONNREFUSED \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)$`, 'm'));
    const asJson = ledger([file, '--to', `http://127.0.0.1:${port}`, ...secrets, '--json']);
    assert.deepEqual(JSON.parse(asJson.stdout).failures[0], { line: 1, status: 'error', code: 'ECONNREFUSED', detail: `connect ECONNREFUSED 127.0.0.1:${port}` });
    // Port 1 is on fetch's list of ports it never connects to: no code, only undici's word for it.
    assert.match(ledger([file, '--to', 'http://127.0.0.1:1', ...secrets]).stdout, /^ {2}line 1: error \(bad port\)$/m);
  });

  test('a file it cannot read sends nothing and names the line; bad flags are a usage error', () => {
    const bad = join(dir, 'bad.ndjson');
    writeFileSync(bad, `${JSON.stringify({ id: 'evt_ok', object: 'event' })}\n{"no": "provider"}\n`);
    const result = ledger([bad, '--to', served.url, ...secrets]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /line 2: cannot tell the provider/);
    assert.doesNotMatch(result.stdout, /replayed/);

    assert.equal(ledger([file, '--to', served.url]).status, 2);
    assert.equal(ledger([file, '--to', 'ftp://example.com', ...secrets]).status, 2);
    const unset = ledger([file, '--to', served.url, '--secret-env', 'NOT_SET_ANYWHERE']);
    assert.equal(unset.status, 2);
    assert.match(unset.stderr, /NOT_SET_ANYWHERE is not set/);
  });

  test('reading a capture: the provider by shape, exact bytes kept, signatures never forwarded', () => {
    const body = '{"id":"evt_x", "object":"event"}';
    const [stripe, crm, envelope] = readCapture(`${body}\n[{"eventId":1}]\n${JSON.stringify({ source: 'support', body: '{}', headers: { 'X-Zendesk-Webhook-Signature': 'old', 'User-Agent': 'Zendesk' } })}`);
    assert.equal(stripe?.source, 'stripe');
    assert.equal(stripe?.body.toString(), body);
    assert.equal(crm?.source, 'crm');
    assert.deepEqual(envelope?.headers, { 'content-type': 'application/json', 'user-agent': 'Zendesk' });
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50), 5);
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95), 10);
  });
});
