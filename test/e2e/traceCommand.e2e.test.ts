import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { CorrelationTrail } from '../../services/telemetry/correlationTrail.ts';
import { migratedDataDir } from '../support/migratedDataDir.ts';
import { parsePrometheusText, total } from '../support/prometheusText.ts';
import { freePort, startLedgerProcess, type ServedProcess } from '../support/servedProcess.ts';
import { fixture } from '../support/stripeEvents.ts';
import { signedStripeHeaders } from '../support/stripeSigning.ts';

// `ledger serve` as a real process with the standard OTEL_* variables pointing at an OTLP
// receiver: a payment's spans leave the process in one trace, /metrics counts it, and
// `ledger trace <correlation id>` shows the chain through the service and, once it stops, directly.

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
}

// An OTLP/HTTP receiver (JSON encoding), standing in for the collector.
function otlpReceiver(): { server: Server; spans: OtlpSpan[] } {
  const spans: OtlpSpan[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      if (request.url === '/v1/traces') {
        const parsed = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
        for (const resource of parsed.resourceSpans) for (const scope of resource.scopeSpans) spans.push(...scope.spans);
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return { server, spans };
}

const INBOUND_TRACE = '0af7651916cd43dd8448eb211c80319c';

describe('ledger trace and OTLP export from a served process (e2e, embedded store)', async () => {
  const dataDir = await migratedDataDir('ledger-trace-');
  const receiver = otlpReceiver();
  let served: ServedProcess;
  let correlationId: string;

  const ledger = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['bin/ledger.js', 'trace', ...args], {
      env: { ...process.env, LEDGER_DATA_DIR: dataDir, DATABASE_URL: '', LEDGER_API_KEY: '', ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });

  before(async () => {
    const port = await freePort();
    await new Promise<void>((resolve) => receiver.server.listen(port, '127.0.0.1', resolve));
    served = await startLedgerProcess(['serve'], {
      LEDGER_DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
  });
  after(async () => {
    if (served.child.exitCode === null) {
      served.child.kill('SIGTERM');
      await served.exited;
    }
    receiver.server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('a payment leaves the process as one trace, from the caller’s traceparent to every read model', async () => {
    const event = fixture('invoice.paid');
    event.id = 'evt_trace_cmd_1';
    const payload = JSON.stringify(event);
    const response = await fetch(`${served.url}/webhooks/stripe`, {
      method: 'POST',
      headers: { ...signedStripeHeaders(payload), traceparent: `00-${INBOUND_TRACE}-b7ad6b7169203331-01` },
      body: payload,
    });
    assert.equal(response.status, 200);
    correlationId = ((await response.json()) as { correlationId: string }).correlationId;

    const wanted = ['POST /webhooks/stripe', 'ingest webhooks/stripe', 'process PaymentSucceeded', 'SELECT ledger_append', 'project crm', 'project support', 'project app'];
    const deadline = Date.now() + 20_000;
    const names = () => new Set(receiver.spans.filter((s) => s.traceId === INBOUND_TRACE).map((s) => s.name));
    while (!wanted.every((name) => names().has(name)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(wanted.filter((name) => !names().has(name)), [], 'every span exported in the caller’s trace');
    const server = receiver.spans.find((s) => s.name === 'POST /webhooks/stripe')!;
    assert.equal(server.parentSpanId, 'b7ad6b7169203331');

    const metrics = parsePrometheusText(await (await fetch(`${served.url}/metrics`)).text());
    assert.equal(total(metrics, 'ledger_webhook_deliveries_total', { source: 'stripe', outcome: 'appended' }), 1);
    assert.ok(total(metrics, 'ledger_projection_sync_latency_seconds_count', { read_model: 'crm' }) >= 1);
  });

  test('ledger trace goes through the service while it holds the store, with a viewer key', () => {
    const noKey = ledger([correlationId], { LEDGER_URL: served.url });
    assert.equal(noKey.status, 1);
    assert.match(noKey.stderr, /set LEDGER_API_KEY/);

    const text = ledger([correlationId], { LEDGER_URL: served.url, LEDGER_API_KEY: 'key-viewer' });
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`trace id\\s+${INBOUND_TRACE}`));
    assert.match(text.stdout, /stripe delivery kept in inbox #1: appended/);
    assert.match(text.stdout, /PaymentSucceeded/);
    for (const readModel of ['crm', 'support', 'app']) {
      assert.match(text.stdout, new RegExp(`${readModel} read model changed`));
      assert.match(text.stdout, new RegExp(`read model ${readModel}\\s+applied`));
    }

    const json = ledger([correlationId, '--json'], { LEDGER_URL: served.url, LEDGER_API_KEY: 'key-viewer' });
    assert.equal(json.status, 0, json.stderr);
    const trail: CorrelationTrail = JSON.parse(json.stdout);
    assert.deepEqual(trail.traceIds, [INBOUND_TRACE]);
    const kinds = trail.entries.map((e) => e.kind);
    assert.ok(kinds.includes('delivery') && kinds.includes('fact'));
    assert.equal(kinds.filter((k) => k === 'projection').length, 3);
    // In time order, the events before the read models that applied them.
    const times = trail.entries.map((e) => Date.parse(e.at));
    assert.deepEqual(times, [...times].sort((a, b) => a - b));
    assert.ok(kinds.indexOf('fact') < kinds.indexOf('projection'));

    const unknown = ledger(['no-such-correlation'], { LEDGER_URL: served.url, LEDGER_API_KEY: 'key-viewer' });
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /LEDGER_NOT_FOUND/);
    const malformed = ledger(['bad id!'], { LEDGER_URL: served.url, LEDGER_API_KEY: 'key-viewer' });
    assert.equal(malformed.status, 2);
  });

  test('the service’s log lines carry correlation ids and no secrets; after it stops, ledger trace opens the store itself', async () => {
    served.child.kill('SIGTERM');
    assert.equal(await served.exited, 0);
    const lines = served
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const requestLines = lines.filter((l) => l.req !== undefined || l.res !== undefined);
    assert.ok(requestLines.length >= 4);
    for (const line of requestLines) assert.match(String(line.correlationId), /^[A-Za-z0-9._:-]+$/);
    assert.ok(lines.some((l) => l.correlationId === correlationId && l.traceId === INBOUND_TRACE));
    assert.doesNotMatch(served.output(), /whsec_|key-viewer|v1=[0-9a-f]{16}/);

    const direct = ledger([correlationId, '--json'], { LEDGER_URL: 'http://127.0.0.1:9' });
    assert.equal(direct.status, 0, direct.stderr);
    const trail: CorrelationTrail = JSON.parse(direct.stdout);
    assert.equal(trail.entries.filter((e) => e.kind === 'projection').length, 3);
    assert.ok(trail.consumers.filter((c) => c.kind === 'read_model').every((c) => c.caughtUp));
  });
});
