import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { resolve } from 'node:path';

export const BENCH_STRIPE_SECRET = 'whsec_bench_secret';

const template = JSON.parse(readFileSync(resolve(process.cwd(), '../shared/fixtures/stripe/invoice.paid.json'), 'utf8')) as {
  id: string;
  created: number;
  data: { object: Record<string, unknown> };
};

let sequence = 0;

// A distinct invoice.paid per call, spread over `customers` Stripe customers, signed as Stripe does.
export function signedInvoicePaid(customers: number, run: string): { body: string; signature: string } {
  sequence += 1;
  const created = Math.floor(Date.now() / 1000);
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
  const v1 = createHmac('sha256', BENCH_STRIPE_SECRET).update(`${created}.${body}`).digest('hex');
  return { body, signature: `t=${created},v1=${v1}` };
}

// More sockets than the service's in-flight limit per source (LEDGER_WEBHOOK_MAX_IN_FLIGHT,
// 256), so an offered rate past capacity meets its load shedding rather than a client queue.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });

// 0 when no answer came (the connection was refused or reset): counted, not thrown, so one
// overloaded moment does not end a bench run.
export function post(url: string, body: string, signature: string): Promise<number> {
  return postForBody(url, body, signature).then(
    (r) => r.status,
    () => 0,
  );
}

export function postForBody(url: string, body: string, signature: string): Promise<{ status: number; body: string }> {
  return new Promise<{ status: number; body: string }>((resolvePost, reject) => {
    const request = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'stripe-signature': signature, 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolvePost({ status: response.statusCode ?? 0, body: text }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}
