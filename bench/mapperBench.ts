import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHubspotSource } from '../services/ingest/crm/hubspotSource.ts';
import { createStripeSource } from '../services/ingest/stripe/stripeSource.ts';
import { createZendeskSource } from '../services/ingest/support/zendeskSource.ts';
import type { WebhookSource } from '../services/ingest/webhookSource.ts';
import { PROVIDER_FIXTURES } from '../test/support/providerFixtures.ts';
import { fmt, percentile, table } from './stats.ts';

// The pure part of a delivery, per real payload in test/fixtures/providers: parse with the contract
// and translate to facts. No signature, no HTTP, no store; one process, one core. What a mapper
// or contract change costs shows here long before it shows in the ingest bench's noise.

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CALLS = Number(process.env.BENCH_MAPPER_CALLS ?? 5_000);

// Each fixture that is a body as the provider sends it (one wraps a body with its headers).
const sources: [string, WebhookSource<unknown>][] = [
  ['stripe', createStripeSource(['whsec_bench']) as WebhookSource<unknown>],
  ['crm', createHubspotSource('bench') as WebhookSource<unknown>],
  ['support', createZendeskSource('bench') as WebhookSource<unknown>],
];

function bodiesOf(source: WebhookSource<unknown>, dir: string): [string, Buffer][] {
  return readdirSync(join(PROVIDER_FIXTURES, dir))
    .filter((file) => file.endsWith('.json'))
    .map((file): [string, Buffer] => [file, readFileSync(join(PROVIDER_FIXTURES, dir, file))])
    .filter(([, body]) => {
      try {
        source.translate(source.parse(body));
        return true;
      } catch {
        return false;
      }
    });
}

export async function mapperBench(): Promise<void> {
  const rows: Record<string, string>[] = [];
  for (const [dir, source] of sources) {
    for (const [file, body] of bodiesOf(source, dir)) {
      // Median of the rounds: the first warms the JIT, a stray GC lands in one round.
      const perCall: number[] = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        const start = performance.now();
        for (let i = 0; i < CALLS; i += 1) source.translate(source.parse(body));
        perCall.push(((performance.now() - start) / CALLS) * 1000);
      }
      rows.push({ source: source.name, fixture: file, bytes: fmt(body.length), 'µs per delivery': fmt(percentile(perCall.sort((a, b) => a - b), 50), 1) });
    }
  }
  console.log(`\n### Parse + translate per delivery (median of ${ROUNDS} rounds of ${fmt(CALLS)} calls)\n`);
  console.log(table(rows));
}
