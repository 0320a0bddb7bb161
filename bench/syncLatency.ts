import { postForBody, signedInvoicePaid } from './stripeLoad.ts';

// HTTP 2xx -> "all three read models show it", as a sync worker would see it: signed
// invoice.paid deliveries, each for a new Stripe customer (so each change-feed entry belongs to
// one delivery), sent at a fixed rate while one long-poll follower per read model reads its
// change feed. Shared by the e2e bench (store polling) and the Kafka bench (both modes).

export const READ_MODELS = ['crm', 'support', 'app'] as const;
export const BENCH_READ_KEY = 'bench-read-key';
// How long the last deliveries may take to show up before they count as "not projected".
const SETTLE_MS = 30_000;

export interface SyncLatency {
  sent: number;
  ok: number;
  // ms from each 2xx to the last read model showing it; Infinity when it never did.
  latencies: number[];
  // The same from when the delivery was sent: what the payer's CRM waits. The 2xx comes once the
  // append (and the inbox record with it) commits, so a faster answer alone lengthens the above.
  fromSend: number[];
}

// Notes when each customer first shows up in one read model's change feed.
async function follow(url: string, model: string, seen: Map<string, number>, stop: { done: boolean }): Promise<void> {
  let after = '0';
  while (!stop.done) {
    const response = await fetch(`${url}/v1/${model}/changes?after=${after}&limit=1000&timeoutMs=500`, {
      headers: { authorization: `Bearer ${BENCH_READ_KEY}` },
    });
    if (!response.ok) throw new Error(`bench: GET /v1/${model}/changes answered ${response.status}`);
    const page = (await response.json()) as { changes: { customerId: string }[]; nextCursor: string };
    const at = performance.now();
    for (const change of page.changes) if (!seen.has(change.customerId)) seen.set(change.customerId, at);
    after = page.nextCursor;
  }
}

export async function syncLatencyAt(url: string, perSecond: number, seconds: number, run: string): Promise<SyncLatency> {
  const acked = new Map<string, number>();
  const sentAt = new Map<string, number>();
  const seen = new Map(READ_MODELS.map((m) => [m, new Map<string, number>()]));
  const stop = { done: false };
  const followers = READ_MODELS.map((m) => follow(url, m, seen.get(m)!, stop));
  const total = Math.round(perSecond * seconds);
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  let ok = 0;
  for (let i = 0; i < total; i += 1) {
    const wait = start + (i * 1000) / perSecond - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const { body, signature } = signedInvoicePaid(Number.MAX_SAFE_INTEGER, `${run}c${i}`);
    const sent = performance.now();
    inflight.push(
      postForBody(`${url}/webhooks/stripe`, body, signature).then(({ status, body: reply }) => {
        if (status !== 200) return;
        ok += 1;
        const customerId = (JSON.parse(reply) as { facts: { customerId?: string }[] }).facts[0]?.customerId;
        if (customerId) {
          acked.set(customerId, performance.now());
          sentAt.set(customerId, sent);
        }
      }),
    );
  }
  await Promise.all(inflight);
  const everywhere = () => [...acked.keys()].every((c) => READ_MODELS.every((m) => seen.get(m)!.has(c)));
  const deadline = performance.now() + SETTLE_MS;
  while (performance.now() < deadline && !everywhere()) await new Promise((r) => setTimeout(r, 50));
  stop.done = true;
  await Promise.all(followers);
  const shownAt = (customer: string) => Math.max(...READ_MODELS.map((m) => seen.get(m)!.get(customer) ?? Number.POSITIVE_INFINITY));
  const latencies = [...acked].map(([customer, ackAt]) => Math.max(0, shownAt(customer) - ackAt));
  const fromSend = [...sentAt].map(([customer, at]) => Math.max(0, shownAt(customer) - at));
  return { sent: total, ok, latencies: latencies.sort((a, b) => a - b), fromSend: fromSend.sort((a, b) => a - b) };
}
