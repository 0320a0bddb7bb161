// A small typed client for the app (React Native / Expo, browsers, Node 18+): fetch only, no Node
// APIs, no zod at runtime. Types come from the same contracts the service enforces.
import type { AppEntitlementsResponse } from '../api/readModelViews.ts';
import type { CommandAccepted } from '../api/commandAccepted.ts';
import type { LeadRequest } from '../inbound/app.ts';

export interface LedgerClientOptions {
  baseUrl: string;
  // An API key with the `app` scope.
  apiKey: string;
  fetch?: typeof fetch;
  // Retries of a lead submission after a network error, a 5xx or a 409 "still in flight".
  retries?: number;
  retryDelayMs?: number;
}

export type EntitlementsResult =
  | { status: 'ok'; entitlements: AppEntitlementsResponse; etag: string | null }
  | { status: 'not_modified' }
  | { status: 'not_found' };

export class LedgerApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    detail: string,
  ) {
    super(`${status} ${code ?? ''} ${detail}`.trim());
    this.name = 'LedgerApiError';
  }
}

// A new Idempotency-Key per user action; reuse it for every retry of that action.
export function newIdempotencyKey(): string {
  const random = globalThis.crypto?.randomUUID?.();
  if (random) return random;
  return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => {
    const r = Math.floor(Math.random() * 16);
    return (c === 'x' ? r : (r & 0x3) | 0x8).toString(16);
  });
}

export function createLedgerClient(options: LedgerClientOptions) {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const base = options.baseUrl.replace(/\/$/, '');
  const headers = { authorization: `Bearer ${options.apiKey}` };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  async function failure(response: Response): Promise<LedgerApiError> {
    const problem = (await response.json().catch(() => ({}))) as { code?: string; detail?: string };
    return new LedgerApiError(response.status, problem.code, problem.detail ?? response.statusText);
  }

  async function getEntitlements(ref: string, query: { etag?: string; waitForVersion?: number; timeoutMs?: number } = {}): Promise<EntitlementsResult> {
    const params = new URLSearchParams();
    if (query.waitForVersion !== undefined) params.set('waitForVersion', String(query.waitForVersion));
    if (query.timeoutMs !== undefined) params.set('timeoutMs', String(query.timeoutMs));
    const qs = params.toString();
    const response = await doFetch(`${base}/v1/app/entitlements/${encodeURIComponent(ref)}${qs ? `?${qs}` : ''}`, {
      headers: { ...headers, ...(query.etag ? { 'if-none-match': query.etag } : {}) },
    });
    if (response.status === 304) return { status: 'not_modified' };
    if (response.status === 404) return { status: 'not_found' };
    if (!response.ok) throw await failure(response);
    return { status: 'ok', entitlements: (await response.json()) as AppEntitlementsResponse, etag: response.headers.get('etag') };
  }

  return {
    getEntitlements,

    // After a purchase: resolves with the entitlements once their version passes `version`
    // (the server answers the moment the payment is projected), or undefined at the deadline.
    async waitForChange(ref: string, version: number, timeoutMs = 30_000): Promise<AppEntitlementsResponse | undefined> {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const result = await getEntitlements(ref, { waitForVersion: version + 1, timeoutMs: Math.min(25_000, deadline - Date.now()) });
        if (result.status === 'ok' && result.entitlements.version > version) return result.entitlements;
        if (result.status === 'not_found') await sleep(250);
      }
      return undefined;
    },

    // A double tap or a flaky network never makes two leads: every attempt carries one key.
    async submitLead(lead: LeadRequest, idempotencyKey: string = newIdempotencyKey()): Promise<CommandAccepted> {
      const retries = options.retries ?? 3;
      for (let attempt = 0; ; attempt += 1) {
        let response: Response | undefined;
        try {
          response = await doFetch(`${base}/v1/leads`, {
            method: 'POST',
            headers: { ...headers, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
            body: JSON.stringify(lead),
          });
        } catch (error) {
          if (attempt >= retries) throw error;
        }
        if (response?.ok) return (await response.json()) as CommandAccepted;
        if (response && response.status !== 409 && response.status < 500) throw await failure(response);
        if (attempt >= retries) throw response ? await failure(response) : new Error('network error');
        // A shedding server (503 + Retry-After) says when to come back; sooner only adds load.
        const retryAfterMs = Number(response?.headers.get('retry-after') ?? Number.NaN) * 1000;
        await sleep(Math.max((options.retryDelayMs ?? 300) * 2 ** attempt, Number.isFinite(retryAfterMs) ? retryAfterMs : 0));
      }
    },
  };
}

export type LedgerClient = ReturnType<typeof createLedgerClient>;
