import type { IncomingMessage } from 'node:http';
import pino, { type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

// The service's logger: JSON lines (pino). A request's lines carry its correlation id (fastify's
// child logger, `correlationId`) and its trace and span ids (services/telemetry/httpSpans.ts).
// Secrets, signatures and payloads never reach a line: the paths below are censored wherever a
// caller puts them.

export const REDACTED = '[redacted]';

// pino's redaction paths: one level of wildcard, so common nestings are spelled out.
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["stripe-signature"]',
  'req.headers["x-hubspot-signature"]',
  'req.headers["x-hubspot-signature-v3"]',
  'req.headers["x-zendesk-webhook-signature"]',
  'req.headers["idempotency-key"]',
  'headers.authorization',
  'headers.cookie',
  'headers["stripe-signature"]',
  'headers["x-hubspot-signature-v3"]',
  'headers["x-zendesk-webhook-signature"]',
  'body',
  'rawBody',
  'payload',
  'card',
  'secret',
  'apiKey',
  'password',
  'token',
  '*.body',
  '*.rawBody',
  '*.payload',
  '*.card',
  '*.secret',
  '*.secrets',
  '*.apiKey',
  '*.password',
  '*.token',
  '*.stripeApiKey',
  '*.webhooks',
];

// A customer reference in a path (`/v1/customers/email:ann@example.com`, or the bare address,
// which the CLI accepts and people therefore type into URLs too) is personal data; the query
// string may carry tokens.
export function loggableUrl(url: string): string {
  return (url.split('?')[0] ?? '')
    .replace(/email(:|%3A)[^/]*/gi, `email:${REDACTED}`)
    .replace(/[^/]*(@|%40)[^/]*/gi, REDACTED);
}

const serializers = {
  req(request: IncomingMessage & { id?: string }) {
    return { method: request.method, url: loggableUrl(request.url ?? '') };
  },
};

export interface LoggerOptions {
  level: LevelWithSilent;
  // Tests capture lines here; default stdout.
  destination?: DestinationStream;
}

export function createLogger({ level, destination }: LoggerOptions): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      serializers,
    },
    destination,
  );
}
