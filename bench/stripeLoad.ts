import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Pool } from 'undici';
import { PROVIDER_FIXTURES } from '../test/support/providerFixtures.ts';

export const BENCH_STRIPE_SECRET = 'whsec_bench_secret';

const template = JSON.parse(readFileSync(resolve(PROVIDER_FIXTURES, 'stripe/invoice.paid.json'), 'utf8')) as {
  id: string;
  created: number;
  data: { object: Record<string, unknown> };
};

let sequence = 0;

// A distinct invoice.paid per call, spread over `customers` Stripe customers, signed as Stripe does.
// `latePercent` of them are an hour old (Stripe retried them): older than the customer's newest
// invoice, each is decided with the customer's recorded events (domain/sinceInOrder.ts).
export function signedInvoicePaid(customers: number, run: string, latePercent = 0): { body: string; signature: string } {
  sequence += 1;
  const signedAt = Math.floor(Date.now() / 1000);
  const created = latePercent > 0 && Math.random() * 100 < latePercent ? signedAt - 3600 : signedAt;
  const event = {
    ...template,
    id: `evt_${run}_${sequence}`,
    created,
    // Each invoice its own charge and payment intent, as in Stripe: the fixture's shared ones would
    // make every delivery claim one customer's charge and serialise the whole load on it.
    data: {
      ...template.data,
      object: {
        ...template.data.object,
        id: `in_${run}_${sequence}`,
        customer: `cus_${run}_${sequence % customers}`,
        charge: `ch_${run}_${sequence}`,
        payment_intent: `pi_${run}_${sequence}`,
      },
    },
  };
  const body = JSON.stringify(event);
  const v1 = createHmac('sha256', BENCH_STRIPE_SECRET).update(`${signedAt}.${body}`).digest('hex');
  return { body, signature: `t=${signedAt},v1=${v1}` };
}

// More connections than the service's in-flight limit per source (LEDGER_WEBHOOK_MAX_IN_FLIGHT,
// 256), so an offered rate past capacity meets its load shedding rather than a client queue.
// undici, not node:http: the generator shares the machine's cores with the service and
// PostgreSQL, and node:http's client cost 0.29 ms of CPU per delivery on machine H (a sixth of
// the whole machine's work per delivery at the max row), undici's 0.21-0.23 ms.
const pools = new Map<string, Pool>();
const targets = new Map<string, { pool: Pool; path: string }>();

function targetOf(url: string): { pool: Pool; path: string } {
  let target = targets.get(url);
  if (target === undefined) {
    const { origin, pathname, search } = new URL(url);
    let pool = pools.get(origin);
    if (pool === undefined) {
      pool = new Pool(origin, { connections: 1024, pipelining: 1 });
      pools.set(origin, pool);
    }
    target = { pool, path: `${pathname}${search}` };
    targets.set(url, target);
  }
  return target;
}

// 0 when no answer came (the connection was refused or reset): counted, not thrown, so one
// overloaded moment does not end a bench run.
export function post(url: string, body: string, signature: string): Promise<number> {
  return postForBody(url, body, signature).then(
    (r) => r.status,
    () => 0,
  );
}

export async function postForBody(url: string, body: string, signature: string): Promise<{ status: number; body: string }> {
  const { pool, path } = targetOf(url);
  const response = await pool.request({
    path,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signature },
    body,
  });
  return { status: response.statusCode, body: await response.body.text() };
}
