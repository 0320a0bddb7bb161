import { performance } from 'node:perf_hooks';
import { CapturedDelivery, type CapturedSource } from '../../contracts/inbound/capturedDelivery.ts';
import { parseWith } from '../../contracts/parseBody.ts';
import { LedgerError } from '../../domain/errors.ts';
import { signatureHeaders, WEBHOOK_PATHS } from './providerSigning.ts';

// `ledger webhooks replay`: captured deliveries, re-signed as their provider would sign them now,
// POSTed to another environment (staging replay tests), with what came back.

export interface ReplayDelivery {
  line: number;
  source: CapturedSource;
  body: Buffer;
  headers: Record<string, string>;
}

// Captured headers worth passing on; signatures, timestamps, Host and lengths are made anew.
const FORWARDED = new Set(['content-type', 'user-agent', 'x-correlation-id', 'traceparent', 'idempotency-key', 'x-zendesk-webhook-id', 'x-zendesk-webhook-invocation-id']);

// A body names its provider by shape: HubSpot sends arrays, Zendesk `zen:event-type:…`, Stripe
// event objects.
export function sourceOfBody(body: unknown): CapturedSource | undefined {
  if (Array.isArray(body)) return 'crm';
  if (typeof body !== 'object' || body === null) return undefined;
  if ('type' in body && typeof body.type === 'string' && body.type.startsWith('zen:event-type:')) return 'support';
  if (('object' in body && body.object === 'event') || ('id' in body && typeof body.id === 'string' && body.id.startsWith('evt_'))) return 'stripe';
  return undefined;
}

const lineError = (line: number, message: string) => new LedgerError('LEDGER_VALIDATION', `line ${line}: ${message}`, { line });

// Every line is read before anything is sent: a bad file sends nothing.
export function readCapture(text: string, sourceOverride?: CapturedSource): ReplayDelivery[] {
  const deliveries: ReplayDelivery[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed.length === 0) return;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch {
      throw lineError(line, 'not JSON');
    }
    const isCapture = typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, 'body');
    if (!isCapture) {
      // The line is the body: send these exact bytes.
      const source = sourceOverride ?? sourceOfBody(value);
      if (!source) throw lineError(line, 'cannot tell the provider from the body; pass --source');
      deliveries.push({ line, source, body: Buffer.from(trimmed, 'utf8'), headers: { 'content-type': 'application/json' } });
      return;
    }
    let capture: CapturedDelivery;
    try {
      capture = parseWith(CapturedDelivery, value);
    } catch (error) {
      throw lineError(line, (error as Error).message);
    }
    const bodyText = typeof capture.body === 'string' ? capture.body : JSON.stringify(capture.body);
    const source = sourceOverride ?? capture.source ?? sourceOfBody(typeof capture.body === 'string' ? safeJson(capture.body) : capture.body);
    if (!source) throw lineError(line, 'no source; add "source" or pass --source');
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    for (const [name, headerValue] of Object.entries(capture.headers ?? {})) {
      if (FORWARDED.has(name.toLowerCase())) headers[name.toLowerCase()] = headerValue;
    }
    deliveries.push({ line, source, body: Buffer.from(bodyText, 'utf8'), headers });
  });
  return deliveries;
}

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

export interface ReplayOptions {
  // The other environment's base URL; each delivery goes to its provider's path under it.
  to: URL;
  secrets: Partial<Record<CapturedSource, string>>;
  concurrency: number;
  now?: () => Date;
  timeoutMs?: number;
}

export interface ReplayFailure {
  line: number;
  status: number | 'error';
  // The answer's LEDGER_* code; with no answer, the network error's (ECONNREFUSED, ENOTFOUND, TimeoutError).
  code?: string;
  // With no answer: what the network error said (`connect ECONNREFUSED 10.0.0.7:443`).
  detail?: string;
}

export interface ReplaySummary {
  sent: number;
  // HTTP status (or `error` for no answer) -> count.
  byStatus: Record<string, number>;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  // The share of deliveries answered 2xx: what a provider would count as delivered.
  successRate: number;
  seconds: number;
  failures: ReplayFailure[];
}

// Nearest-rank percentile of ascending values.
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;
}

export async function replayDeliveries(deliveries: readonly ReplayDelivery[], options: ReplayOptions): Promise<ReplaySummary> {
  const now = options.now ?? (() => new Date());
  const started = performance.now();
  const latencies: number[] = [];
  const byStatus: Record<string, number> = {};
  const failures: ReplayFailure[] = [];
  let next = 0;

  const sendOne = async (delivery: ReplayDelivery): Promise<void> => {
    const secret = options.secrets[delivery.source];
    if (secret === undefined) throw new LedgerError('LEDGER_VALIDATION', `no secret for ${delivery.source} deliveries`);
    const target = new URL(WEBHOOK_PATHS[delivery.source], options.to);
    const headers = { ...delivery.headers, ...signatureHeaders(delivery.source, secret, delivery.body, target, now()) };
    const sentAt = performance.now();
    let status: number | 'error';
    let code: string | undefined;
    let detail: string | undefined;
    try {
      const response = await fetch(target, { method: 'POST', headers, body: delivery.body, signal: AbortSignal.timeout(options.timeoutMs ?? 30_000) });
      const text = await response.text();
      status = response.status;
      if (!response.ok) code = codeOf(text);
    } catch (error) {
      status = 'error';
      ({ code, detail } = networkFailure(error));
    }
    latencies.push(performance.now() - sentAt);
    byStatus[String(status)] = (byStatus[String(status)] ?? 0) + 1;
    if (status === 'error' || status < 200 || status > 299) failures.push({ line: delivery.line, status, ...(code ? { code } : {}), ...(detail ? { detail } : {}) });
  };

  // N workers over one queue, so at most `concurrency` requests are in flight.
  const worker = async () => {
    while (next < deliveries.length) await sendOne(deliveries[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, deliveries.length)) }, worker));

  latencies.sort((a, b) => a - b);
  const ok = Object.entries(byStatus).reduce((n, [status, count]) => (/^2\d\d$/.test(status) ? n + count : n), 0);
  return {
    sent: deliveries.length,
    byStatus,
    latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99), max: latencies.at(-1) ?? 0 },
    successRate: deliveries.length === 0 ? 1 : ok / deliveries.length,
    seconds: (performance.now() - started) / 1000,
    failures: failures.sort((a, b) => a.line - b.line),
  };
}

// fetch rejects every network failure as TypeError('fetch failed'): what went wrong is its cause,
// a system error's code (ECONNREFUSED, ENOTFOUND), undici's (UND_ERR_SOCKET), or a bare message
// (undici's "bad port" for a port fetch refuses, such as 1). A timeout is the error itself.
function networkFailure(error: unknown): { code?: string; detail?: string } {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  if (!(cause instanceof Error)) return { detail: String(cause) };
  const { code } = cause as { code?: unknown };
  if (typeof code === 'string') return { code, detail: cause.message };
  return cause === error ? { code: cause.name, detail: cause.message } : { detail: cause.message };
}

// The LEDGER_* code of a problem+json answer (another environment of this service), if any.
function codeOf(text: string): string | undefined {
  const body = safeJson(text);
  return typeof body === 'object' && body !== null && 'code' in body && typeof body.code === 'string' ? body.code : undefined;
}
